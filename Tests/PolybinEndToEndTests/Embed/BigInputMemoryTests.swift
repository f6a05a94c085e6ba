import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Issue 9 §5, big inputs: what polybin holds in memory does not grow with the payload.
/// Each runs polybin under a data limit (RLIMIT_DATA: heap and private writable mappings,
/// not read-only file mappings) far below the input: reading the input whole into memory
/// fails there, streaming it or reading it in place does not. Correctness only; peak RSS and
/// time are measured by hand and by tools/bench.
@Suite(.serialized) struct BigInputMemoryTests {
    /// Far below every input here, well above what polybin and cc need for themselves.
    static let dataLimit = 96 << 20

    static func limited(_ arguments: [String]) throws -> ProcessResult {
        try run("/usr/bin/prlimit", ["--data=\(dataLimit)", TestEnvironment.polybin] + arguments)
    }

    /// 160 MiB that zstd cannot shrink (so stored sizes are the file's), then `tail`.
    static func incompressible(_ path: String, megabytes: Int = 160, prefix: String? = nil) throws {
        let head = prefix.map { "cat '\($0)' > '\(path)' && " } ?? ": > '\(path)' && "
        try mustRun("/bin/sh", ["-c", head + "head -c \(megabytes << 20) /dev/urandom >> '\(path)'"])
    }

    /// `polybin link` checks a payload object of 160 MiB in place (mapped): the check passes
    /// under the limit and the run goes on to look for the runner (named missing here, so no
    /// link of 160 MiB runs). Reading the object whole, as it did, dies under the limit.
    @Test func linkChecksABigPayloadObjectWithoutReadingItIntoMemory() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-big-link")
        defer { try? FileManager.default.removeItem(at: dir) }
        let build = dir.appendingPathComponent("big-build").path, bundle = dir.appendingPathComponent("big.bundle").path
        let object = dir.appendingPathComponent("big.o").path, output = dir.appendingPathComponent("big").path
        // A program with 160 MiB of random bytes after it: a build zstd stores as it is.
        try Self.incompressible(build, prefix: "/bin/true")
        try mustRun(TestEnvironment.polybin, ["pack", "-o", bundle, "--level", "1", "--flavor", "x86-64=\(build)"])
        try mustRun(TestEnvironment.polybin, ["object", bundle, "-o", object])
        try FileManager.default.removeItem(atPath: build)
        #expect(try FileManager.default.attributesOfItem(atPath: object)[.size] as! UInt64 > UInt64(150 << 20))

        let missing = dir.appendingPathComponent("no-such-runner.a").path
        let result = try Self.limited(["link", object, "-o", output, "--runner", missing])
        #expect(result.status == 1 && result.err == "polybin: \(missing): x86-64 runner library not found; build it with `swift build -c release --product PolybinRunner` or pass --runner PATH\n",
                "\(result.status): \(result.err.prefix(300))")

        // The same check still refuses a payload cut short, under the same limit.
        let short = dir.appendingPathComponent("short.o").path
        try mustRun("/bin/sh", ["-c", "head -c \(100 << 20) '\(bundle)' > '\(short).bundle'"])
        try Files.write(ObjectEmitter(section: Fatbin.payloadSection).layout(payloadSize: 100 << 20).head, to: short)
        try mustRun("/bin/sh", ["-c", "cat '\(short).bundle' >> '\(short)'"])
        let tail = ObjectEmitter(section: Fatbin.payloadSection).layout(payloadSize: 100 << 20).tail
        let fd = try FileDescriptor.open(FilePath(short), [.writeOnly])
        try fd.fill { try $0.write(tail, at: ObjectEmitter.standalonePayloadOffset + (100 << 20)) }
        let refused = try Self.limited(["link", short, "-o", output, "--runner", missing])
        #expect(refused.status == 1 && refused.err == "polybin: \(short): corrupt payload: bundle is truncated\n",
                "\(refused.status): \(refused.err.prefix(300))")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// `embed --compress` of a 160 MiB file (and an 8 MiB one zstd cannot shrink, and a small
    /// one) under the data limit: each frame streams from the file's mapping into a spool and
    /// from there into the object. Reading every file whole and holding its frame, as it
    /// did, dies under the limit. The program linked with the object reads every file back
    /// exact through the API, the big one decompressed.
    @Test func compressEmbedsFilesBiggerThanTheDataLimit() throws {
        guard EmbedCompilers.require("gcc") else { return }
        let dir = try TestEnvironment.temporaryDirectory("polybin-big-compress")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tree = dir.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        let big = tree.appendingPathComponent("big.bin").path, random = tree.appendingPathComponent("random.bin").path
        try mustRun("/bin/sh", ["-c", "{ head -c \(40 << 20) /dev/urandom; yes 'a line of text that repeats' | head -c \(120 << 20); } > '\(big)'"])
        try Self.incompressible(random, megabytes: 8)
        try Files.write(Array(String(repeating: "a small file that zstd shrinks\n", count: 100).utf8), to: FilePath(tree.appendingPathComponent("small.txt").path))
        var expected: [String] = []
        for (name, compressed) in [("big.bin", 1), ("random.bin", 0), ("small.txt", 1)] {
            let path = FilePath(tree.appendingPathComponent(name).path)
            let size = try Files.size(of: path)
            expected.append("file \(name)\t\(size)\t\(compressed)\t\(SHA256.hex(try FileHash.digest(ofFileAt: path, size: size)))")
        }

        let object = dir.appendingPathComponent("assets.o").path, header = dir.appendingPathComponent("assets.h").path
        let made = try Self.limited(["embed", "--name", "assets", "--compress", "--cc", "gcc", "-o", object, "--header", header, tree.path])
        #expect(made.status == 0, "\(made.status): \(made.err.prefix(300))")
        let size = try FileManager.default.attributesOfItem(atPath: object)[.size] as! UInt64
        #expect(size < UInt64(60 << 20), "the object is \(size) bytes: the big file was not stored compressed")

        let checker = dir.appendingPathComponent("check.c")
        try """
            #include <stdio.h>
            #include <stdint.h>
            #include <stdlib.h>
            #include "assets.h"
            #include "pb_sha256.h"
            int main(void) {
                for (size_t i = 0; i < assets_count(); i++) {
                    const polybin_file *f = assets_at(i);
                    unsigned char *buffer = malloc(f->size + 1);
                    uint8_t d[32];
                    if (!buffer || assets_read(f, buffer, f->size) != (long long)f->size) { printf("FAIL %s\\n", f->name); return 1; }
                    pb_sha256(buffer, f->size, d);
                    printf("file %s\\t%zu\\t%d\\t", f->name, f->size, f->data == NULL);
                    for (int j = 0; j < 32; j++) printf("%02x", d[j]);
                    printf("\\n");
                    free(buffer);
                }
                return 0;
            }
            """.write(to: checker, atomically: true, encoding: .utf8)
        let program = dir.appendingPathComponent("check").path
        let include = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/include").path
        let sha = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/codec/sha256.c").path
        try mustRun("gcc", ["-O1", "-I", dir.path, "-I", include, "-o", program, checker.path, object, sha, "-lzstd"])
        #expect(try mustRun(program, []).out == expected.joined(separator: "\n") + "\n")
    }

    /// Big files stored raw are hashed on a thread of their own from the moment the layout is
    /// made (EarlyHashes), and writing only copies them: the index still records each file's
    /// own SHA-256, in the streamed bundle and in the in-memory one (the C modes) alike.
    @Test func bigRawFilesHashedEarlyAreIndexedWithTheirOwnHashes() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-big-early")
        defer { try? FileManager.default.removeItem(at: dir) }
        var contents: [String: [UInt8]] = [:]
        var files: [EmbedInputs.File] = []
        // Sizes no other file has, over the 4 MiB of a big file: none is hashed to find duplicates.
        for (name, size, seed) in [("a.bin", (5 << 20) + 3, UInt8(1)), ("b.bin", 6 << 20, 2), ("small.txt", 100, 3)] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) &+ seed }
            let path = FilePath(dir.appendingPathComponent(name).path)
            try Files.write(bytes, to: path)
            contents[name] = bytes
            files.append(EmbedInputs.File(name: name, path: path))
        }
        let packed = try FilesPacker().pack(files)
        let bundle = FilePath(dir.appendingPathComponent("files.bundle").path)
        try Files.create(bundle) { fd in
            try fd.resize(to: packed.size)
            try packed.write(to: fd, at: 0)
        }
        let written = try Files.read(bundle)
        #expect(try packed.bytes() == written)
        let loaded = try LoadedBundle(bytes: written, path: bundle.description)
        #expect(loaded.entries.map(\.name) == ["a.bin", "b.bin", "small.txt"])
        for entry in loaded.entries {
            let expected = try #require(contents[entry.name])
            #expect(entry.sha256 == SHA256.digest(expected), "\(entry.name)")
            #expect(try loaded.content(of: entry) == expected, "\(entry.name)")
        }
    }
}
