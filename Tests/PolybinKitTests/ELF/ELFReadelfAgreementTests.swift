import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The ELF reader (pb_elf through ELFFile) gives readelf's answers on real files: dynamic PIEs
/// of /usr/bin, a static glibc program, a C++ program with exceptions, an aarch64 program and
/// relocatable objects (ELFPrograms).
@Suite struct ELFReadelfAgreementTests {
    @Test func headerSectionsAndSegmentsMatchReadelf() throws {
        for (label, path) in try ELFPrograms.get().files {
            let (elf, file) = try ELFPrograms.open(path)
            let lines = try Readelf.output(["-hSlW"], path)
            let type = lines.first { $0.contains("  Type:") }.map { Readelf.words($0)[1] }
            #expect(type == ["EXEC": "2", "DYN": "3", "REL": "1"].first { $0.value == "\(elf.header.type)" }?.key, "\(label): e_type")
            let machine = lines.first { $0.contains("  Machine:") } ?? ""
            #expect(machine.contains(elf.header.machine == 62 ? "X86-64" : "AArch64"), "\(label): \(machine)")
            let entry = lines.first { $0.contains("Entry point address:") }.flatMap { Readelf.words($0).last }.flatMap(Readelf.hex)
            #expect(entry == elf.header.entry, "\(label): entry")

            // Sections: "[Nr] Name Type Address Off Size ..." (section 0 has no name).
            var expected: [[String]] = []
            for line in lines where line.hasPrefix("  [") && !line.contains("[Nr]") {
                guard let open = line.firstIndex(of: "["), let close = line.firstIndex(of: "]"),
                      let index = Int(line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces)), index > 0 else { continue }
                let w = Readelf.words(String(line[line.index(after: close)...]))
                expected.append([w[0], String(Readelf.hex(w[2])!), String(Readelf.hex(w[3])!), String(Readelf.hex(w[4])!)])
            }
            let sections = try elf.sections().dropFirst().map { [$0.name, String($0.address), String($0.offset), String($0.size)] }
            #expect(sections == expected && expected.count > 5, "\(label): sections")

            // Program headers: "Type Offset VirtAddr PhysAddr FileSiz MemSiz Flg Align".
            let segments = lines.compactMap { line -> [UInt64]? in
                let w = Readelf.words(line)
                guard w.count >= 6, let type = Readelf.segmentTypes[w[0]], w[1].hasPrefix("0x") else { return nil }
                return [UInt64(type), Readelf.hex(w[1])!, Readelf.hex(w[2])!, Readelf.hex(w[4])!, Readelf.hex(w[5])!]
            }
            let ours = elf.segments().filter { segment in Readelf.segmentTypes.values.contains(segment.type) }
                .map { [UInt64($0.type), $0.offset, $0.address, $0.fileSize, $0.memorySize] }
            #expect(ours == segments && (label.hasSuffix(".o") || segments.count > 3), "\(label): program headers")
            #expect(elf.segments().allSatisfy { $0.inFile }, "\(label): a program header lies")
            // "[Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]"
            let interpreter = lines.lazy.compactMap { line -> String? in
                guard let range = line.range(of: "[Requesting program interpreter: ") else { return nil }
                return String(line[range.upperBound...].dropLast())
            }.first
            #expect(try elf.interpreter() == interpreter, "\(label): PT_INTERP")
            withExtendedLifetime(file) {}
        }
    }

    @Test func dynamicSectionMatchesReadelf() throws {
        var paths: [String] = []
        for (label, path) in try ELFPrograms.get().files {
            let (elf, file) = try ELFPrograms.open(path)
            defer { withExtendedLifetime(file) {} }
            let lines = try Readelf.output(["-dW"], path)
            guard let dynamic = try elf.dynamic() else {
                #expect(lines.contains { $0.contains("no dynamic section") }, "\(label): readelf sees a dynamic section")
                continue
            }
            #expect(dynamic.needed == lines.compactMap { Readelf.bracketed($0, after: "Shared library:") } && !dynamic.needed.isEmpty,
                    "\(label): DT_NEEDED")
            #expect(dynamic.soname == lines.lazy.compactMap { Readelf.bracketed($0, after: "Library soname:") }.first, "\(label)")
            #expect(dynamic.runpath == lines.lazy.compactMap { Readelf.bracketed($0, after: "Library runpath:") }.first, "\(label)")
            #expect(dynamic.rpath == lines.lazy.compactMap { Readelf.bracketed($0, after: "Library rpath:") }.first, "\(label)")
            let pie = lines.contains { $0.contains("(FLAGS_1)") && Readelf.words($0).contains("PIE") }
            #expect(dynamic.isPIE == pie, "\(label): DF_1_PIE")
            paths += [dynamic.runpath, dynamic.rpath].compactMap { $0 }
        }
        #expect(paths.sorted() == ["/opt/elf-test/lib", "/opt/elf-test/old"], "DT_RUNPATH and DT_RPATH: \(paths)")
    }

    @Test func versionNeedsAndSymbolVersionsMatchReadelf() throws {
        for (label, path) in try ELFPrograms.get().files {
            let (elf, file) = try ELFPrograms.open(path)
            defer { withExtendedLifetime(file) {} }
            // "File: libc.so.6  Cnt: 10" then "Name: GLIBC_2.28  Flags: none  Version: 12" lines.
            var needs: [ELFFile.VersionNeed] = [], library = ""
            for line in try Readelf.output(["-V"], path) {
                let w = Readelf.words(line)
                if let at = w.firstIndex(of: "File:") { library = w[at + 1] }
                if let at = w.firstIndex(of: "Name:"), let version = w.firstIndex(of: "Version:"), w.contains("Flags:") {
                    needs.append(.init(library: library, version: w[at + 1], index: UInt16(w[version + 1])!))
                }
            }
            #expect(try elf.versionNeeds() == needs && (needs.count > 1 || label.contains("static") || label.hasSuffix(".o")), "\(label): .gnu.version_r")

            // "Num: Value Size Type Bind Vis Ndx Name@VERSION (n)"
            let expected = try Self.symbolLines(path, table: ".dynsym")
            let symbols = try elf.symbols(dynamic: true) ?? []
            #expect(symbols.count == expected.count, "\(label): .dynsym entries")
            for (symbol, w) in zip(symbols, expected) {
                let full = w.count > 7 ? w[7] : ""
                let name = String(full.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)[0])
                let version = full.contains("@") ? String(full.split(separator: "@").last!) : nil
                // readelf names section symbols by their section.
                #expect((symbol.type == 3 || symbol.name == name) && symbol.version == version && symbol.type == Readelf.symbolTypes[w[3]],
                        "\(label): dynamic symbol \(symbol.index): \(symbol) vs \(w)")
            }
        }
    }

    /// The rows of symbol table `table` in `readelf -sW`, split into words.
    static func symbolLines(_ path: String, table: String) throws -> [[String]] {
        var rows: [[String]] = [], inside = false
        for line in try Readelf.output(["-sW"], path) {
            if line.hasPrefix("Symbol table ") { inside = line.contains("'\(table)'") }
            let w = Readelf.words(line)
            if inside, w.count >= 7, w[0].hasSuffix(":"), Int(w[0].dropLast()) != nil { rows.append(w) }
        }
        return rows
    }

    @Test func symbolTablesMatchReadelfIncludingIFUNCs() throws {
        var sawIFUNC = false
        for (label, path) in try ELFPrograms.get().files where !label.hasPrefix("/usr/bin") {
            let (elf, file) = try ELFPrograms.open(path)
            defer { withExtendedLifetime(file) {} }
            let expected = try Self.symbolLines(path, table: ".symtab")
            let symbols = try #require(try elf.symbols(), "\(label): no .symtab")
            #expect(symbols.count == expected.count, "\(label): .symtab entries")
            for (symbol, w) in zip(symbols, expected) {
                let size = w[2].hasPrefix("0x") ? Readelf.hex(w[2]) : UInt64(w[2])
                let sameName = symbol.type == 3 || symbol.name == (w.count > 7 ? w[7] : "")  // readelf names section symbols by their section
                #expect(sameName && symbol.value == Readelf.hex(w[1]) && symbol.size == size && symbol.type == Readelf.symbolTypes[w[3]],
                        "\(label): symbol \(symbol.index): \(symbol) vs \(w)")
                sawIFUNC = sawIFUNC || symbol.type == 10
            }
        }
        #expect(sawIFUNC, "the static glibc program has no STT_GNU_IFUNC symbol")
    }

    @Test func relocationsMatchReadelfAndRelativeOnesAreRecognised() throws {
        var kinds: [String: Int] = [:]
        for (label, path) in try ELFPrograms.get().files {
            let (elf, file) = try ELFPrograms.open(path)
            defer { withExtendedLifetime(file) {} }
            // "Relocation section '.rela.dyn' at offset 0x... contains N entries:", then
            // "Offset Info Type ..." rows.
            var expected: [String: [[String]]] = [:], current = ""
            for line in try Readelf.output(["-rW"], path) {
                if line.hasPrefix("Relocation section '") { current = String(line.split(separator: "'")[1]); expected[current] = [] }
                let w = Readelf.words(line)
                if w.count >= 3, w[0].count == 16, Readelf.hex(w[0]) != nil, Readelf.hex(w[1]) != nil { expected[current]!.append(w) }
            }
            let sections = try elf.sections().filter { $0.type == 4 || $0.type == 9 }
            #expect(Set(sections.map(\.name)) == Set(expected.keys), "\(label): relocation sections")
            for section in sections {
                let rows = expected[section.name] ?? []
                let relocations = try elf.relocations(inSection: section.index)
                #expect(relocations.count == rows.count, "\(label) \(section.name): entries")
                for (relocation, w) in zip(relocations, rows) {
                    let info = Readelf.hex(w[1])!
                    #expect(relocation.offset == Readelf.hex(w[0]) && relocation.type == UInt32(truncatingIfNeeded: info) &&
                            relocation.symbol == UInt32(info >> 32), "\(label) \(section.name): \(relocation) vs \(w)")
                    switch pb_elf_relocation_kind(elf.header.machine, relocation.type) {
                    case PB_RELOC_RELATIVE:
                        // readelf's last column is a RELATIVE relocation's addend.
                        #expect(w[2].hasSuffix("_RELATIVE") && UInt64(bitPattern: relocation.addend) == Readelf.hex(w.last!),
                                "\(label): \(relocation) vs \(w)")
                        kinds[w[2], default: 0] += 1
                    case PB_RELOC_IRELATIVE: #expect(w[2].hasSuffix("_IRELATIVE"), "\(label): \(w[2])"); kinds[w[2], default: 0] += 1
                    default: #expect(!w[2].hasSuffix("RELATIVE"), "\(label): \(w[2]) not recognised")
                    }
                }
            }
        }
        for kind in ["R_X86_64_RELATIVE", "R_X86_64_IRELATIVE", "R_AARCH64_RELATIVE", "R_AARCH64_IRELATIVE"] {
            #expect(kinds[kind, default: 0] > 0, "no \(kind) among the programs: \(kinds)")
        }
    }

    @Test func frameDescriptionsMatchReadelfAndFormASortedFunctionTable() throws {
        var augmentations: Set<String> = []
        for (label, path) in try ELFPrograms.get().programs {
            let (elf, file) = try ELFPrograms.open(path)
            defer { withExtendedLifetime(file) {} }
            // "00000000 ... 00000000 CIE", its "Augmentation: "zR"" line, and
            // "00000018 ... 0000001c FDE cie=00000000 pc=00000000000061d0..00000000000061f2".
            var cies: [UInt64: String] = [:], expected: [ELFFile.FDE] = [], lastCIE: UInt64 = 0
            for line in try Readelf.output(["--debug-dump=frames"], path) {
                let w = Readelf.words(line)
                if w.count == 4, w[3] == "CIE" { lastCIE = Readelf.hex(w[0])! }
                if w.first == "Augmentation:" { cies[lastCIE] = w.count > 1 ? String(w[1].dropFirst().dropLast()) : "" }
                if w.count >= 6, w[3] == "FDE", w[4].hasPrefix("cie="), w[5].hasPrefix("pc=") {
                    let range = w[5].dropFirst(3).split(separator: ".", omittingEmptySubsequences: true)
                    let start = Readelf.hex(range[0])!, end = Readelf.hex(range[1])!
                    expected.append(.init(offset: Readelf.hex(w[0])!, start: start, size: end &- start,
                                          augmentation: cies[Readelf.hex(w[4].dropFirst(4))!] ?? "?", lsda: 0))
                }
            }
            let fdes = try elf.frameDescriptions()
            #expect(fdes.map { [$0.offset, $0.start, $0.size] } == expected.map { [$0.offset, $0.start, $0.size] } && expected.count > 3,
                    "\(label): FDEs")
            #expect(fdes.map(\.augmentation) == expected.map(\.augmentation), "\(label): CIE augmentations")
            augmentations.formUnion(fdes.map(\.augmentation))

            let table = try elf.functionTable()
            #expect(table.functions.map { [$0.start, $0.size] } == fdes.map { [$0.start, $0.size] }.sorted { ($0[0], $0[1]) < ($1[0], $1[1]) },
                    "\(label): the function table is the FDEs sorted by address")
            #expect(table.problems.isEmpty, "\(label): \(table.problems)")
            for function in table.functions where function.size > 0 {
                let offset = try #require(elf.fileOffset(ofAddress: function.start, count: function.size), "\(label): \(function)")
                #expect(offset < UInt64(file.bytes.count), "\(label)")
            }
        }
        #expect(augmentations.contains("zR") && augmentations.contains("zPLR"), "\(augmentations)")
        let throwing = try ELFPrograms.open(try ELFPrograms.get().files.first { $0.label == "throws" }!.path)
        #expect(try throwing.0.frameDescriptions().contains { $0.augmentation == "zPLR" && $0.lsda != 0 }, "no FDE with an LSDA")
        withExtendedLifetime(throwing.1) {}
    }

    @Test func gnuNotesGiveTheMinimumKernelAndTheX86ISANeeded() throws {
        let isa = ["x86-64-baseline": UInt32(1), "x86-64-v2": 2, "x86-64-v3": 4, "x86-64-v4": 8]
        for (label, path) in try ELFPrograms.get().programs {
            let (elf, file) = try ELFPrograms.open(path)
            defer { withExtendedLifetime(file) {} }
            let lines = try Readelf.output(["-nW"], path)
            let notes = try elf.gnuNotes()
            // "OS: Linux, ABI: 3.2.0"
            let kernel = lines.lazy.compactMap { line -> [UInt32]? in
                guard let range = line.range(of: "OS: Linux, ABI: ") else { return nil }
                return line[range.upperBound...].split(separator: ".").compactMap { UInt32($0.trimmingCharacters(in: .whitespaces)) }
            }.first
            #expect(notes.minimumKernel == kernel, "\(label): NT_GNU_ABI_TAG")
            let needed = lines.lazy.compactMap { line -> UInt32? in
                guard let range = line.range(of: "x86 ISA needed: ") else { return nil }
                return line[range.upperBound...].split(separator: ",").reduce(0) { $0 | (isa[$1.trimmingCharacters(in: .whitespaces)] ?? 0) }
            }.first
            #expect(notes.x86ISANeeded == needed, "\(label): GNU_PROPERTY_X86_ISA_1_NEEDED")
            let buildID = lines.lazy.compactMap { line -> String? in
                guard let range = line.range(of: "Build ID: ") else { return nil }
                return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            }.first
            #expect(notes.buildID.map { $0.map { String(format: "%02x", $0) }.joined() } == buildID, "\(label): NT_GNU_BUILD_ID")
        }
    }
}
