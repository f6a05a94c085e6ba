import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The real ELF files the reader is compared with readelf on: programs of /usr/bin (dynamic
/// PIEs), and, compiled once per test run, static glibc programs for both architectures
/// (IFUNCs, IRELATIVE), a C++ program that throws (zPLR CIEs, LSDAs, DT_RUNPATH), an aarch64
/// PIE (DT_RPATH) and relocatable objects.
final class ELFPrograms: @unchecked Sendable {
    let dir: URL
    /// label -> path
    let files: [(label: String, path: String)]

    /// Linked programs: what .eh_frame, PT_LOAD and the dynamic section are compared on.
    var programs: [(label: String, path: String)] { files.filter { !$0.label.hasSuffix(".o") } }

    static func get() throws -> ELFPrograms { try BuildOnce.value("ELFPrograms") { try ELFPrograms() } }

    static let cSource = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
        int main(int argc, char **argv) {
            qsort(argv, (size_t)argc, sizeof *argv, compare);
            for (int i = 0; i < argc; i++) printf("%zu %s\\n", strlen(argv[i]), argv[i]);
            return 0;
        }
        """

    static let cxxSource = """
        #include <cstdio>
        #include <stdexcept>
        #include <string>
        static int check(int n) { if (n > 3) throw std::runtime_error("too many: " + std::to_string(n)); return n; }
        int main(int argc, char **) {
            try { return check(argc); } catch (const std::exception &e) { std::puts(e.what()); return 1; }
        }
        """

    private init() throws {
        let dir = try TestEnvironment.temporaryDirectory("elf-programs")
        self.dir = dir
        let c = dir.appendingPathComponent("program.c"), cxx = dir.appendingPathComponent("throws.cc")
        try Self.cSource.write(to: c, atomically: true, encoding: .utf8)
        try Self.cxxSource.write(to: cxx, atomically: true, encoding: .utf8)
        func out(_ name: String) -> String { dir.appendingPathComponent(name).path }
        try mustRun("gcc", ["-O1", "-static", "-o", out("static"), c.path])
        // DT_RUNPATH (the linker's default for -rpath) on one program, DT_RPATH on another.
        try mustRun("g++", ["-O1", "-Wl,-rpath,/opt/elf-test/lib", "-o", out("throws"), cxx.path])
        try mustRun("gcc", ["-O1", "-c", "-o", out("program.o"), c.path])
        try mustRun("g++", ["-O1", "-c", "-o", out("throws.o"), cxx.path])
        guard TestEnvironment.has(ArmFixture.gcc) else {
            throw FixtureError("\(ArmFixture.gcc) is missing: tools/bootstrap installs gcc-aarch64-linux-gnu")
        }
        try mustRun(ArmFixture.gcc, ["-O1", "-Wl,--disable-new-dtags,-rpath,/opt/elf-test/old", "-o", out("aarch64"), c.path])
        try mustRun(ArmFixture.gcc, ["-O1", "-static", "-o", out("aarch64-static"), c.path])
        try mustRun(ArmFixture.gcc, ["-O1", "-c", "-o", out("aarch64.o"), c.path])
        let system = ["/usr/bin/ls", "/usr/bin/env", "/usr/bin/sort"].filter { FileManager.default.fileExists(atPath: $0) }
        files = system.map { ($0, $0) } + ["static", "throws", "aarch64", "aarch64-static", "program.o", "throws.o", "aarch64.o"].map { ($0, out($0)) }
    }

    static func open(_ path: String) throws -> (ELFFile, MappedFile) {
        let file = try MappedFile(path)
        return (try ELFFile(file), file)
    }
}

/// readelf's answers, parsed from its text output.
enum Readelf {
    static func output(_ arguments: [String], _ path: String) throws -> [String] {
        try mustRun("readelf", arguments + [path]).out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    static func hex(_ text: some StringProtocol) -> UInt64? {
        let digits = String(text)
        return UInt64(digits.hasPrefix("0x") ? String(digits.dropFirst(2)) : digits, radix: 16)
    }

    static func words(_ line: String) -> [String] { line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }

    /// The text between `[` and `]` after `label`.
    static func bracketed(_ line: String, after label: String) -> String? {
        guard let range = line.range(of: label + " [") else { return nil }
        let rest = line[range.upperBound...]
        return rest.lastIndex(of: "]").map { String(rest[..<$0]) }
    }

    static let segmentTypes: [String: UInt32] = [
        "LOAD": 1, "DYNAMIC": 2, "INTERP": 3, "NOTE": 4, "PHDR": 6, "TLS": 7, "GNU_EH_FRAME": 0x6474e550,
        "GNU_STACK": 0x6474e551, "GNU_RELRO": 0x6474e552, "GNU_PROPERTY": 0x6474e553,
    ]

    static let symbolTypes: [String: UInt8] = ["NOTYPE": 0, "OBJECT": 1, "FUNC": 2, "SECTION": 3, "FILE": 4, "COMMON": 5, "TLS": 6,
                                               "IFUNC": 10]
}
