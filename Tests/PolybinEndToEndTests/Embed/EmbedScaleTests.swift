import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Embeds at scale (TESTING.md, "Scale"): a file past 4 GiB and a tree of 100,000 files, in
/// object mode, linked into PIE and non-PIE programs and read back byte-exact. Correctness
/// only; what they cost is measured by tools/bench. Serialized: each keeps both cores busy.
@Suite(.serialized) struct EmbedScale {
    /// Links `object` with a checker that prints `name size sha256` for every file through the
    /// generated API, as PIE or not, and runs it.
    static func link(_ object: URL, compiler: String, pie: Bool, in dir: URL) throws -> String {
        let checker = dir.appendingPathComponent("scale-check.c")
        try """
            #include <stdio.h>
            #include <stdint.h>
            #include "assets.h"
            #include "pb_sha256.h"
            int main(void) {
                for (size_t i = 0; i < assets_count(); i++) {
                    const polybin_file *f = assets_at(i);
                    uint8_t d[32];
                    if (!f->data || assets_find(f->name) != f) { printf("FAIL %s\\n", f->name); return 1; }
                    pb_sha256(f->data, f->size, d);
                    printf("file %s\\t%zu\\t", f->name, f->size);
                    for (int j = 0; j < 32; j++) printf("%02x", d[j]);
                    printf("\\n");
                }
                return 0;
            }
            """.write(to: checker, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("check-\(compiler)-\(pie ? "pie" : "nopie")")
        let include = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/include").path
        let sha = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/codec/sha256.c").path
        let mode = pie ? ["-fPIE", "-pie"] : ["-fno-PIE", "-no-pie"]
        try mustRun(compiler, ["-O1"] + mode + ["-I", dir.path, "-I", include, "-o", program.path, checker.path, object.path, sha])
        defer { try? FileManager.default.removeItem(at: program) }
        let header = try mustRun("readelf", ["-hW", program.path]).out
        #expect(header.contains(pie ? "DYN (Position-Independent Executable file)" : "EXEC (Executable file)"), "\(program.lastPathComponent) is not what was asked for")
        return try mustRun(program.path, []).out
    }

    /// 4 GiB + 4 KiB + 3 bytes, sparse, with marker bytes at the start, past 2 GiB, past
    /// 4 GiB and at the end: the payload crosses both the ±2 GiB reach of 32-bit PC-relative
    /// references and the 32-bit size limit. gcc only, PIE and not; the other toolchain
    /// combinations are covered by the 100,000-file case.
    @Test func aFilePast4GiBLinksIntoPIEAndNonPIEProgramsByteExact() throws {
        guard EmbedCompilers.require("gcc") else { return }
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-4g")
        defer { try? FileManager.default.removeItem(at: dir) }
        let size: UInt64 = (4 << 30) + 4096 + 3
        let input = FilePath(dir.appendingPathComponent("big.bin").path)
        try Files.create(input) { fd in
            try fd.resize(to: size)
            for (offset, marker) in [(UInt64(0), "start"), ((2 << 30) + 1, "past 2 GiB"), ((4 << 30) + 7, "past 4 GiB"), (size - 3, "end")] {
                try fd.write(Array(marker.utf8.prefix(Int(size - offset))), at: offset)
            }
        }
        let expected = "file big.bin\t\(size)\t\(SHA256.hex(try FileHash.digest(ofFileAt: input, size: size)))"
        let object = dir.appendingPathComponent("assets.o")
        try embed(["--name", "assets", "--cc", "gcc", "-o", object.path, "--header", dir.appendingPathComponent("assets.h").path, input.description])
        try FileManager.default.removeItem(atPath: input.description)
        for pie in [true, false] {
            #expect(try Self.link(object, compiler: "gcc", pie: pie, in: dir) == expected + "\n")
        }
    }

    /// 100,000 files in 100 directories, some identical (stored once), linked with gcc and
    /// clang, PIE and not: every file is found by name with its exact content.
    @Test func aTreeOf100000FilesLinksWithEveryCompilerPIEAndNot() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-embed-100k")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = dir.appendingPathComponent("tree")
        var expected: [String] = []
        for d in 0..<100 {
            let directory = "d\(d < 10 ? "0" : "")\(d)"
            let sub = FilePath(tree.path).appending(directory)
            try FileManager.default.createDirectory(atPath: sub.description, withIntermediateDirectories: true)
            for f in 0..<1000 {
                // Every seventh file has the same content as its neighbour seven on.
                let content = Array(String(repeating: "file \(d) \(f / 7 * 7 + (f % 7 == 0 ? 0 : f))\n", count: f % 5 + 1).utf8)
                let name = "f\(String(repeating: "0", count: 4 - String(f).count))\(f)"
                try Files.write(content, to: sub.appending(name))
                expected.append("file \(directory)/\(name)\t\(content.count)\t\(SHA256.hex(SHA256.digest(content)))")
            }
        }
        expected.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for compiler in EmbedCompilers.all where EmbedCompilers.require(compiler) {
            let object = dir.appendingPathComponent("assets-\(compiler).o")
            try embed(["--name", "assets", "--cc", compiler, "-o", object.path, "--header", dir.appendingPathComponent("assets.h").path, tree.path])
            for pie in [true, false] {
                let lines = try Self.link(object, compiler: compiler, pie: pie, in: dir).split(separator: "\n").map(String.init)
                #expect(lines.count == 100_000)
                #expect(lines == expected, "\(compiler) \(pie ? "PIE" : "non-PIE"): first difference at line \(lines.indices.first { $0 >= expected.count || lines[$0] != expected[$0] } ?? lines.count)")
            }
            try FileManager.default.removeItem(at: object)
        }
    }
}
