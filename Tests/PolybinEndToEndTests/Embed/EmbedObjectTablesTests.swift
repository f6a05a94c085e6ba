import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// `--mode object` writes the lookup tables itself, as data with relocations against the
/// payload (EmbedTables, ObjectEmitter.adding): the C compiler sees the same few functions
/// for any tree. Byte-exact reading back through the API is EmbedConformance's and
/// EmbedDirectories' (object mode included), EmbedScale's at 100,000 files, PIE and not, and
/// ArmEmbedTests' for aarch64; this suite checks the tables themselves and shared libraries.
@Suite struct EmbedObjectTables {
    /// The relocations of the tables section, as `offset addend` pairs (hex), from readelf.
    static func tableRelocations(_ object: String, readelf: String = "readelf", type: String, section: String) throws -> [String] {
        let text = try mustRun(readelf, ["-rW", object]).out
        let blocks = text.components(separatedBy: "\nRelocation section ")
        let block = try #require(blocks.first { $0.hasPrefix("'.rela.data.rel.ro.polybin.assets'") }, "no table relocations in \(text)")
        var pairs: [String] = []
        for line in block.split(separator: "\n").dropFirst(2) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            // offset info type symbol-value symbol-name + addend
            #expect(fields.count == 7 && fields[2] == type && fields[4] == section && fields[5] == "+", "\(line)")
            pairs.append("\(UInt64(fields[0], radix: 16) ?? .max) \(fields.last ?? "")")
        }
        return pairs
    }

    /// What the relocations must be for `tree`: file i's name and (uncompressed) data, at
    /// 24 i and 24 i + 8 in the table, each the payload plus the layout's offset.
    static func expectedRelocations(_ tree: URL) throws -> [String] {
        let packed = try FilesPacker().pack(EmbedInputs().collect([FilePath(tree.path)]).files)
        return packed.rows.enumerated().flatMap { i, row in
            ["\(24 * i) \(String(row.nameOffset, radix: 16))"] + (row.compressed ? [] : ["\(24 * i + 8) \(String(row.storedOffset, radix: 16))"])
        }
    }

    @Test func everyTablePointerIsAnAbsoluteRelocationAgainstThePayloadSection() throws {
        let tree = try EmbedDirectories.tree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-tables")
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = dir.appendingPathComponent("assets.o").path
        try embed(["--name", "assets", "-o", object, tree.root.path])
        let relocations = try Self.tableRelocations(object, type: "R_X86_64_64", section: ".lrodata.polybin.assets")
        #expect(relocations.count == 2 * tree.expected.count)
        #expect(relocations == (try Self.expectedRelocations(tree.root)))
        // The tables are polybin's, the code the compiler's: one table section, no C tables.
        let sections = try mustRun("readelf", ["-SW", object]).out
        let table = try #require(sections.split(separator: "\n").first { $0.contains(" .data.rel.ro.polybin.assets ") })
        #expect(table.contains(" WA "), "read-only after relocation, in RELRO: \(table)")
        #expect(!sections.contains(".data.rel.ro.local"), "the compiler emitted tables of its own:\n\(sections)")
    }

    /// Two trees of different sizes: every section the compiler made is the same size, so
    /// the C it compiled held no row (its cost does not grow with the tree).
    @Test func theCompiledCodeIsTheSameForEveryTree() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-fixed")
        defer { try? FileManager.default.removeItem(at: dir) }
        var layouts: [[String]] = []
        for count in [1, 300] {
            let tree = try EmbedTree.make(Dictionary(uniqueKeysWithValues: (0..<count).map { ("d\($0 % 7)/f\($0)", Array("\($0)".utf8)) }),
                                          label: "polybin-embed-fixed-tree")
            defer { try? FileManager.default.removeItem(at: tree.root) }
            let object = dir.appendingPathComponent("assets-\(count).o").path
            try embed(["--name", "assets", "-o", object, tree.root.path])
            let sections = try mustRun("readelf", ["-SW", object]).out.split(separator: "\n")
                .filter { $0.contains("] .") && !$0.contains("polybin.assets") && !$0.contains(".symtab") && !$0.contains(".shstrtab") }
                // name, type and size (the offsets move with the payload)
                .map { line -> String in
                    let fields = line.split(separator: "]", maxSplits: 1)[1].split(separator: " ", omittingEmptySubsequences: true)
                    return "\(fields[0]) \(fields[1]) \(fields[4])"
                }
            layouts.append(sections)
        }
        #expect(layouts[0].contains { $0.hasPrefix(".text PROGBITS") })
        #expect(layouts[0] == layouts[1])
    }

    /// -fPIC's promise: the object links into a shared library, whose table pointers are
    /// relative relocations (never a symbol lookup per row), and reads back byte-exact.
    @Test func linksIntoASharedLibraryWithRelativeRelocationsOnly() throws {
        let tree = try EmbedDirectories.tree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-shared")
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = dir.appendingPathComponent("assets.o")
        try embed(["--name", "assets", "-o", object.path, "--header", dir.appendingPathComponent("assets.h").path, tree.root.path])
        for compiler in EmbedCompilers.all where EmbedCompilers.require(compiler) {
            let library = dir.appendingPathComponent("libassets-\(compiler).so")
            try mustRun(compiler, ["-shared", "-o", library.path, object.path])
            let dynamic = try mustRun("readelf", ["-rW", library.path]).out
            let relative = dynamic.split(separator: "\n").filter { $0.contains("R_X86_64_RELATIVE") }.count
            #expect(relative >= 2 * tree.expected.count, "\(compiler): \(relative) relative relocations")
            #expect(!dynamic.contains("R_X86_64_64"), "\(compiler): symbolic pointers in the table:\n\(dynamic.prefix(2000))")
            let checker = dir.appendingPathComponent("check-\(compiler).c")
            try checkerSource().write(to: checker, atomically: true, encoding: .utf8)
            let program = dir.appendingPathComponent("check-\(compiler)")
            let include = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/include").path
            let sha = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/codec/sha256.c").path
            try mustRun(compiler, ["-O1", "-I", dir.path, "-I", include, "-o", program.path, checker.path, sha, library.path,
                                   "-Wl,-rpath," + dir.path])
            let result = try run(program.path)
            #expect(result.status == 0, "\(compiler): \(result.out.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.prefix(5))")
            #expect(fileLines(result.out) == tree.expectedLines, "\(compiler)")
        }
    }

    /// The compiled object is trusted for nothing: a relocation naming a symbol the table
    /// does not have, or an object of another machine, is refused, never renumbered blindly.
    @Test func aCorruptCompiledObjectIsRefused() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-corrupt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("lookup.c")
        try """
            extern const unsigned char assets_payload[];
            extern const unsigned long assets_files[] __attribute__((visibility("hidden")));
            const unsigned char *first(void) { return assets_payload + assets_files[0]; }
            """.write(to: source, atomically: true, encoding: .utf8)
        let objectPath = dir.appendingPathComponent("lookup.o").path
        try mustRun("cc", ["-c", "-O2", "-fPIC", "-o", objectPath, source.path])
        let object = try Files.read(FilePath(objectPath))
        let tables = ObjectEmitter.Tables(section: ".data.rel.ro.polybin.assets", bytes: [UInt8](repeating: 0, count: 8),
                                          pointers: [.init(at: 0, addend: 0)], symbols: [.init(name: "assets_files", offset: 0, size: 8)])
        let emitter = ObjectEmitter(symbol: "assets_payload", section: ".lrodata.polybin.assets")
        // The intact object is accepted, with the relocation against the new section symbol.
        let layout = try emitter.adding(payloadSize: 3, tables: tables, to: object, named: "lookup.o")
        #expect(layout.payloadOffset == ObjectEmitter.addedPayloadOffset)

        let sections = try ELFFile(copying: object).sections()
        let rela = try #require(sections.first { $0.type == 4 && $0.size > 0 })
        var corrupt = object
        let info = Int(rela.offset) + 8
        corrupt.putLE(UInt64(0xFFFF) << 32 | UInt64(corrupt.le32(info)), at: info)
        #expect(throws: PolybinError.self) { try emitter.adding(payloadSize: 3, tables: tables, to: corrupt, named: "lookup.o") }
        do {
            _ = try emitter.adding(payloadSize: 3, tables: tables, to: corrupt, named: "lookup.o")
        } catch let error as PolybinError {
            #expect("\(error)".contains("lookup.o: a relocation names symbol 65535 of"), "\(error)")
        }
        // A table symbol the code does not reference, and another machine, are refused too.
        var unreferenced = tables
        unreferenced.symbols.append(.init(name: "assets_stored", offset: 0, size: 8))
        #expect(throws: PolybinError.self) { try emitter.adding(payloadSize: 3, tables: unreferenced, to: object, named: "lookup.o") }
        let arm = ObjectEmitter(symbol: "assets_payload", section: ".rodata.polybin.assets", machine: .aarch64)
        #expect(throws: PolybinError.self) { try arm.adding(payloadSize: 3, tables: tables, to: object, named: "lookup.o") }
    }
}
