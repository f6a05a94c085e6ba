import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Embedded files for Arm targets, made on this x86-64 machine: `polybin embed --target
/// aarch64` and `polybin object --target aarch64`, linked with aarch64-linux-gnu-gcc and
/// run under qemu-aarch64, with the same hygiene as on x86-64.
@Suite struct ArmEmbedTests {
    static let program = """
        #include <stdio.h>
        #include <string.h>
        #include "assets.h"
        int main(int argc, char **argv) {
            for (int i = 1; i < argc; i++) {
                const polybin_file *f = assets_find(argv[i]);
                if (!f) { printf("%s: missing\\n", argv[i]); continue; }
                printf("%s: %zu bytes, %s\\n", f->name, f->size, ((unsigned long)f->data % 16) ? "unaligned" : "aligned");
                fwrite(f->data, 1, f->size, stdout);
            }
            return 0;
        }
        """

    @Test(arguments: ["", "-static"])
    func embedObjectForAarch64LinksAndRunsUnderQemu(link: String) throws {
        try ArmFixture.require(ArmFixture.gcc)
        try ArmFixture.require("qemu-aarch64")
        let dir = try TestEnvironment.temporaryDirectory("polybin-arm-embed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let web = dir.appendingPathComponent("web")
        try FileManager.default.createDirectory(at: web.appendingPathComponent("css"), withIntermediateDirectories: true)
        try "<h1>hi</h1>\n".write(to: web.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        try "body{}\n".write(to: web.appendingPathComponent("css/site.css"), atomically: true, encoding: .utf8)
        try Self.program.write(to: dir.appendingPathComponent("main.c"), atomically: true, encoding: .utf8)
        let object = dir.appendingPathComponent("assets.o").path
        let embed = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "--target", "aarch64", "-o", object,
                                                       "--header", dir.appendingPathComponent("assets.h").path, web.path])
        try #require(embed.status == 0, "\(embed.err)")
        #expect(try run("file", [object]).out.contains("ARM aarch64"))
        // The lookup table's pointers into the payload: absolute 64-bit relocations, resolved
        // (PIE: relative) at link time, never text relocations.
        #expect(try run("aarch64-linux-gnu-readelf", ["-rW", object]).out.contains("R_AARCH64_ABS64"))
        let sections = try run("aarch64-linux-gnu-readelf", ["-SW", object]).out
        let payload = try #require(sections.split(separator: "\n").first { $0.contains(".rodata.polybin.assets") })
        #expect(payload.split(separator: " ").contains("A") && !payload.contains("WA"), "\(payload)")
        #expect(payload.hasSuffix(" 64"), "64-byte aligned: \(payload)")
        #expect(sections.contains(".note.GNU-stack"))

        let exe = dir.appendingPathComponent("server").path
        let cc = try run(ArmFixture.gcc, (link.isEmpty ? [] : [link]) + ["-I", dir.path, "-o", exe,
                                                                           dir.appendingPathComponent("main.c").path, object])
        try #require(cc.status == 0, "\(cc.err)")
        let headers = try run("aarch64-linux-gnu-readelf", ["-lWd", exe]).out
        #expect(headers.contains("GNU_STACK") && !headers.contains("RWE"))
        #expect(!headers.contains("TEXTREL"))
        let result = try run("qemu-aarch64", ["-L", "/usr/aarch64-linux-gnu", exe, "index.html", "css/site.css", "nope"])
        #expect(result.status == 0, "\(result.err)")
        #expect(result.out == "index.html: 12 bytes, aligned\n<h1>hi</h1>\ncss/site.css: 7 bytes, aligned\nbody{}\nnope: missing\n")
    }

    /// The tables polybin writes into an aarch64 object (R_AARCH64_ABS64 against the
    /// payload section), linked as a PIE and statically: every file reads back byte-exact
    /// through the API and every directory lists as a scan of the names says, under qemu.
    @Test(arguments: ["-pie", "-static"])
    func objectTablesForAarch64ReadBackByteExact(link: String) throws {
        try ArmFixture.require(ArmFixture.gcc)
        try ArmFixture.require("qemu-aarch64")
        let tree = try EmbedDirectories.tree()
        defer { try? FileManager.default.removeItem(at: tree.root) }
        let dir = try TestEnvironment.temporaryDirectory("polybin-arm-tables")
        defer { try? FileManager.default.removeItem(at: dir) }
        let object = dir.appendingPathComponent("assets.o").path
        let embed = try run(TestEnvironment.polybin, ["embed", "--name", "assets", "--target", "aarch64", "-o", object,
                                                       "--header", dir.appendingPathComponent("assets.h").path, tree.root.path])
        try #require(embed.status == 0, "\(embed.err)")
        let relocations = try EmbedObjectTables.tableRelocations(object, readelf: "aarch64-linux-gnu-readelf", type: "R_AARCH64_ABS64",
                                                                  section: ".rodata.polybin.assets")
        #expect(relocations == (try EmbedObjectTables.expectedRelocations(tree.root)))

        let include = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/include").path
        let sha = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/codec/sha256.c").path
        let mode = link == "-pie" ? ["-fPIE", "-pie"] : ["-static"]
        for (program, source) in [("check", checkerSource()), ("list", EmbedDirectories.checker)] {
            let c = dir.appendingPathComponent("\(program).c")
            try source.write(to: c, atomically: true, encoding: .utf8)
            let cc = try run(ArmFixture.gcc, mode + ["-O1", "-I", dir.path, "-I", include, "-o", dir.appendingPathComponent(program).path,
                                                     c.path, object] + (program == "check" ? [sha] : []))
            try #require(cc.status == 0, "\(cc.err)")
        }
        let qemu = ["-L", "/usr/aarch64-linux-gnu"]
        let check = try run("qemu-aarch64", qemu + [dir.appendingPathComponent("check").path])
        #expect(check.status == 0, "\(check.out.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.prefix(5))")
        #expect(fileLines(check.out) == tree.expectedLines)
        let list = try run("qemu-aarch64", qemu + [dir.appendingPathComponent("list").path] + EmbedDirectories.queries)
        #expect(list.status == 0)
        #expect(list.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == EmbedDirectories.expectedLines)
    }

    @Test func objectTargetMustMatchAFatbinsBuilds() throws {
        let arm = try ArmFixture.get()
        let bundle = arm.dir.appendingPathComponent("probe.bundle").path
        try #require(try run(TestEnvironment.polybin, ["pack", "-o", bundle, "--level", "3", "--flavor", "armv8-a=\(arm.builds["armv8-a"]!)"]).status == 0)
        let object = arm.dir.appendingPathComponent("probe.o").path
        // A fatbin bundle's object takes the builds' architecture by default.
        #expect(try run(TestEnvironment.polybin, ["object", bundle, "-o", object]).status == 0)
        #expect(try run("file", [object]).out.contains("ARM aarch64"))
        let refused = try run(TestEnvironment.polybin, ["object", bundle, "-o", object + ".x86", "--target", "x86-64"])
        #expect(refused.status == 1)
        #expect(refused.err == "polybin: \(bundle): a fatbin of aarch64 builds cannot be emitted for --target x86-64\n")
        #expect(!FileManager.default.fileExists(atPath: object + ".x86"))
        // link takes the architecture from the object: the aarch64 runner and compiler.
        let fatbin = arm.dir.appendingPathComponent("probe-linked").path
        let link = try run(TestEnvironment.polybin, ["link", object, "-o", fatbin])
        #expect(link.status == 0, "\(link.err)")
        let level = try run("qemu-aarch64", ["-cpu", "cortex-a53", fatbin], environment: ["POLYBIN_EXPLAIN": "1"])
        #expect(level.out.hasSuffix("selected: armv8-a\n"))
    }
}
