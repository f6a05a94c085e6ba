import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Hostile ELF files get a status and a one-line reason from the reader, never a crash or a
/// read past the file. The lying files are Tests/Fuzz/regressions/elf (hand-made from a small
/// static program, a PIE and an object; the fuzz target replays them under ASan too).
@Suite struct ELFHostileInputTests {
    static func regression(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: FuzzRegressionTests.regressions.appendingPathComponent("elf/\(name)")))
    }

    static func failure(_ body: () throws -> Void) -> ELFFile.Failure? {
        do { try body() } catch let failure as ELFFile.Failure { return failure } catch { Issue.record("\(error)") }
        return nil
    }

    @Test func everyTruncationOfAnObjectIsRefusedWithAReason() throws {
        let object = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try ELFPrograms.get().files.first { $0.label == "program.o" }!.path)))
        for length in 0..<object.count {
            let failure = Self.failure { _ = try ELFFile(copying: Array(object.prefix(length))) }
            let expected: [pb_elf_status] = length < 4 ? [PB_ELF_E_NOT_ELF] : length < 64 ? [PB_ELF_E_TRUNCATED] : [PB_ELF_E_SECTION]
            #expect(failure.map { expected.contains($0.status) && !$0.reason.isEmpty } == true, "cut at \(length): \(String(describing: failure))")
        }
    }

    @Test func truncatedProgramsOpenedBySegmentsAloneAreReadWithinTheFile() throws {
        let path = try ELFPrograms.get().files.first { $0.label == "aarch64" }!.path
        let program = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var opened = 0
        for length in stride(from: 0, to: program.count, by: max(1, program.count / 400)) {
            let prefix = Array(program.prefix(length))
            #expect(Self.failure { _ = try ELFFile(copying: prefix) } != nil, "cut at \(length): opened with its section headers gone")
            guard let elf = try? ELFFile(copying: prefix, segmentsOnly: true) else { continue }
            opened += 1
            for segment in elf.segments() {
                #expect(segment.inFile == (segment.offset + segment.fileSize <= UInt64(length)), "cut at \(length): \(segment)")
            }
            if let interpreter = try? elf.interpreter() { #expect(interpreter == "/lib/ld-linux-aarch64.so.1") }
        }
        #expect(opened > 300, "only \(opened) prefixes hold the program headers")
    }

    @Test(arguments: [
        ("truncated-in-header", PB_ELF_E_TRUNCATED, "truncated inside the ELF header (40 of 64 bytes)"),
        ("class-32", PB_ELF_E_CLASS, "a 32-bit ELF file, not 64-bit"),
        ("big-endian", PB_ELF_E_ENDIAN, "a big-endian ELF file, not little-endian"),
        ("shoff-2p63", PB_ELF_E_SECTION, "the section headers (at offset 9223372036854775808) lie past the end of the file (1024 bytes)"),
        ("shnum-past-end", PB_ELF_E_SECTION, "65279 section headers at offset 576 lie past the end of the file (1024 bytes)"),
        ("shnum-escape-2p40", PB_ELF_E_SECTION, "1099511627776 section headers at offset 576 lie past the end of the file"),
        ("shstrndx-past-table", PB_ELF_E_HEADER, "the section name table is section 200 of 7"),
        ("phoff-2p63", PB_ELF_E_SEGMENT, "2 program headers at offset 9223372036854775808 lie past the end of the file"),
    ])
    func lyingHeadersAreRefusedAtOpenWithTheirReason(name: String, status: pb_elf_status, reason: String) throws {
        let failure = Self.failure { _ = try ELFFile(copying: try Self.regression(name)) }
        #expect(failure?.status == status, "\(name): \(String(describing: failure))")
        #expect(failure?.reason.hasPrefix(reason) == true, "\(name): \(String(describing: failure))")
    }

    @Test func lyingSizesAndIndexesFailTheCallThatMeetsThem() throws {
        func expect(_ name: String, _ status: pb_elf_status, _ fragment: String, _ call: (ELFFile) throws -> Void) throws {
            let elf = try ELFFile(copying: try Self.regression(name))
            let failure = Self.failure { try call(elf) }
            #expect(failure?.status == status && failure?.reason.contains(fragment) == true, "\(name): \(String(describing: failure))")
        }
        try expect("eh-frame-size-2p62", PB_ELF_E_SECTION, "section 2 (.eh_frame) (4611686018427387904 bytes at offset 200) lies past the end") {
            _ = try $0.frameDescriptions()
        }
        try expect("section-name-past-table", PB_ELF_E_STRING, "section 1's name lies past the section name table") { _ = try $0.section(at: 1) }
        try expect("symbol-name-past-table", PB_ELF_E_STRING, "symbol 1's name lies past its string table") { _ = try $0.symbols() }
        try expect("symtab-link-past-sections", PB_ELF_E_SYMBOL, "names string table 99 of 7 sections") { _ = try $0.symbols() }
        try expect("dt-needed-past-strings", PB_ELF_E_STRING, "dynamic string at offset 2147483647 lies past its table") { _ = try $0.dynamic() }
        try expect("versym-shorter-than-dynsym", PB_ELF_E_VERSION, ".gnu.version holds 1 entries for") { _ = try $0.symbols(dynamic: true) }
        try expect("verneed-aux-past-section", PB_ELF_E_VERSION, "lies past the section") { _ = try $0.versionNeeds() }
        try expect("verneed-count-65535", PB_ELF_E_VERSION, "needs 65535 versions, and its chain ends after") { _ = try $0.versionNeeds() }
        try expect("note-desc-size-lies", PB_ELF_E_NOTE, "run past its section or segment") { _ = try $0.gnuNotes() }
        try expect("rela-size-not-multiple", PB_ELF_E_RELOCATION, "25 bytes, not a multiple of 24") {
            _ = try $0.relocations(inSection: try #require(try $0.section(named: ".rela.dyn")).index)
        }
        try expect("dynamic-offset-2p62", PB_ELF_E_SECTION, "(.dynamic)") { _ = try $0.dynamic() }
        let lyingLoad = try ELFFile(copying: try Self.regression("load-filesz-2p63"))
        #expect(lyingLoad.segments().first?.inFile == false)
        #expect(lyingLoad.fileOffset(ofAddress: 0x4000b0) == nil, "an address mapped through a lying PT_LOAD")
    }

    @Test(arguments: [
        ("fde-overlap", [PB_FRAME_OVERLAP], 2),
        ("fde-outside-text", [PB_FRAME_OUTSIDE_CODE], 2),
        ("fde-cie-pointer-to-fde", [PB_FRAME_BAD_ENTRY], 1),
        ("fde-cie-pointer-before-section", [PB_FRAME_BAD_ENTRY], 1),
        ("fde-length-past-section", [PB_FRAME_BAD_ENTRY], 0),
        ("cie-augmentation-without-nul", [PB_FRAME_BAD_ENTRY, PB_FRAME_BAD_ENTRY], 0),
    ])
    func frameProblemsAreReportedBesideTheFunctionTable(name: String, problems: [pb_elf_frame_problem_kind], functions: Int) throws {
        let table = try ELFFile(copying: try Self.regression(name)).functionTable()
        #expect(table.problems.map(\.kind) == problems, "\(name): \(table.problems)")
        #expect(table.functions.count == functions, "\(name): \(table.functions.count) functions")
        let valid = try ELFFile(copying: try Self.regression("valid-tiny-static")).functionTable()
        #expect(valid.problems.isEmpty && valid.functions.count == 2)
    }

    @Test func aCIEPointerToAnFDEIsRefusedNotFollowed() throws {
        let elf = try ELFFile(copying: try Self.regression("fde-cie-pointer-to-fde"))
        let failure = Self.failure { _ = try elf.frameDescriptions() }
        #expect(failure?.status == PB_ELF_E_FRAME && failure?.reason == "the CIE pointer names offset 24, which is not a CIE",
                "\(String(describing: failure))")
    }
}

/// Every reader of ELFFile on one file, for replaying hostile inputs: what it reported
/// (failures, program headers past the end, frame problems); [] for a file read cleanly.
enum ELFExercise {
    static func reports(_ elf: ELFFile) -> [String] {
        var out: [String] = []
        func note(_ body: () throws -> Void) {
            do { try body() } catch { out.append("\(error)") }
        }
        note { _ = try elf.sectionsInFile() }
        out += elf.segments().filter { !$0.inFile }.map { "program header \($0.index) lies past the end" }
        note { _ = try elf.interpreter() }
        note { _ = try elf.symbols() }
        note { _ = try elf.symbols(dynamic: true) }
        note { _ = try elf.definedSymbols() }
        note { _ = try elf.versionNeeds() }
        note { _ = try elf.dynamic() }
        note { for s in try elf.sections() where s.type == 4 || s.type == 9 { _ = try elf.relocations(inSection: s.index) } }
        note { _ = try elf.gnuNotes() }
        note { _ = try elf.frameDescriptions() }
        note { out += try elf.functionTable().problems.map { "frame problem \($0.kind.rawValue) at FDE \($0.fde)" } }
        return out
    }
}
