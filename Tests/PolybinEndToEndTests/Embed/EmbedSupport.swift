import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Runs `polybin embed`; a failure carries polybin's message.
@discardableResult
func embed(_ arguments: [String], cwd: URL? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
    let result = try run(TestEnvironment.polybin, ["embed"] + arguments, cwd: cwd)
    #expect(result.status == 0, "polybin embed \(arguments.joined(separator: " ")): \(result.err)", sourceLocation: sourceLocation)
    return result
}

/// The C compilers every mode is tested with; a missing one is a recorded failure.
enum EmbedCompilers {
    static let all = ["gcc", "clang"]

    static func require(_ compiler: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        TestEnvironment.require(compiler, install: "apt-get install \(compiler) to test embedding with it", sourceLocation: sourceLocation)
    }
}

/// The file name `polybin embed -o` gets in each mode.
func outputName(_ mode: EmbedMode, _ name: String = "assets") -> String {
    mode == .object ? "\(name).o" : "\(name).c"
}

/// A directory of files to embed, with the content every file must come back with.
struct EmbedTree: Sendable {
    let root: URL
    /// Name in the bundle → SHA-256 (hex) and size of the file's content.
    let expected: [String: (sha256: String, size: Int)]

    /// Writes `files` (name → content) under a new directory and records what they should read back as.
    static func make(_ files: [String: [UInt8]], label: String = "polybin-embed-tree") throws -> EmbedTree {
        let root = try TestEnvironment.temporaryDirectory(label)
        var expected: [String: (String, Int)] = [:]
        for (name, content) in files {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content).write(to: url)
            expected[name] = (SHA256.hex(SHA256.digest(content)), content.count)
        }
        return EmbedTree(root: root, expected: expected)
    }

    /// The lines the checker program prints for a correct bundle: `name size sha256`, sorted.
    var expectedLines: [String] {
        expected.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "file \($0)\t\(expected[$0]!.size)\t\(expected[$0]!.sha256)" }
    }
}

/// Bytes from a fixed generator: the same test data on every run.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        var i = 0
        while i < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { word in
                for byte in word where i < count {
                    raw[i] = byte
                    i += 1
                }
            }
        }
    }
    return out
}

/// The conformance tree: empty, 1-byte, binary and 100 MiB files, nested directories,
/// names with spaces and non-ASCII characters, and a hidden file that must not be embedded.
/// Made once per test process and deleted when it exits.
enum ConformanceTree {
    static let bigName = "big/hundred-mib.bin"
    static let bigSize = 100 * 1024 * 1024 + 7

    static func get() throws -> EmbedTree { try BuildOnce.value("ConformanceTree", make) }

    private static func make() throws -> EmbedTree {
        var files: [String: [UInt8]] = [
            "empty": [],
            "one-byte": [0x2A],
            "binary.bin": pseudoRandomBytes(65_537, seed: 1),
            "nested/deeper/still/leaf.txt": Array("deep\n".utf8),
            "name with spaces.txt": Array("spaces\n".utf8),
            "caf\u{E9}/na\u{EF}ve \u{65E5}\u{672C}.txt": Array("non-ascii\n".utf8),
            "all-bytes": (0...255).map { UInt8($0) } + [0x3F, 0x3F, 0x3D, 0x22, 0x5C, 0x30],
        ]
        files[bigName] = []
        let tree = try EmbedTree.make(files, label: "polybin-embed-conformance")
        // The big file from /dev/urandom in one external write: generating 100 MiB in a debug
        // build of the tests would take longer than embedding it.
        let big = tree.root.appendingPathComponent(bigName).path
        try mustRun("/bin/sh", ["-c", "head -c \(bigSize) /dev/urandom > '\(big)'"])
        try Data("hidden\n".utf8).write(to: tree.root.appendingPathComponent(".hidden"))
        conformanceRoot = tree.root.path
        atexit { if let root = conformanceRoot { try? FileManager.default.removeItem(atPath: root) } }
        var expected = tree.expected
        let bytes = try Files.read(big)
        expected[bigName] = (SHA256.hex(SHA256.digest(bytes)), bytes.count)
        return EmbedTree(root: tree.root, expected: expected)
    }
}

/// For the exit handler, which cannot capture.
nonisolated(unsafe) private var conformanceRoot: String?

/// The C program that checks a bundle through the generated API (`NAME` is the bundle name):
/// for every file, the content `NAME_read` returns and the bytes at `data` must have the
/// SHA-256 the test expects; lookups of missing names must return NULL; bad reads must fail.
func checkerSource(name: String = "assets", missing: [String] = ["missing", "", "nested", "nested/deeper", "EMPTY", "empty/", "/empty", "./empty"]) -> String {
    """
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include "\(name).h"
    #include "pb_sha256.h"

    static void hex(const unsigned char *bytes, size_t size, char out[65]) {
        uint8_t digest[32];
        pb_sha256(bytes, size, digest);
        for (int i = 0; i < 32; i++) sprintf(out + 2 * i, "%02x", digest[i]);
    }

    int main(void) {
        int failures = 0;
        size_t count = \(name)_count();
        const char *missing[] = { \(missing.map { "\"\($0)\"" }.joined(separator: ", ")) };
        for (size_t i = 0; i < count; i++) {
            const polybin_file *f = \(name)_at(i);
            unsigned char *buffer = malloc(f->size + 1);
            char read_hash[65], data_hash[65];
            long long got = \(name)_read(f, buffer, f->size);
            hex(buffer, f->size, read_hash);
            printf("file %s\\t%zu\\t%s\\n", f->name, f->size, read_hash);
            if (got != (long long)f->size) { printf("FAIL read %s returned %lld\\n", f->name, got); failures++; }
            if (f->data) {
                hex(f->data, f->size, data_hash);
                if (strcmp(read_hash, data_hash) != 0) { printf("FAIL data of %s\\n", f->name); failures++; }
                if ((uintptr_t)f->data % 16 != 0) { printf("FAIL %s is not 16-byte aligned\\n", f->name); failures++; }
                printf("stored %s in-place\\n", f->name);
            } else {
                printf("stored %s compressed\\n", f->name);
            }
            if (\(name)_find(f->name) != f) { printf("FAIL find(%s)\\n", f->name); failures++; }
            if (f->size > 0 && \(name)_read(f, buffer, f->size - 1) != -1) { printf("FAIL short read of %s\\n", f->name); failures++; }
            if (i > 0 && strcmp(\(name)_at(i - 1)->name, f->name) >= 0) { printf("FAIL order at %s\\n", f->name); failures++; }
            free(buffer);
        }
        for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
            if (\(name)_find(missing[i])) { printf("FAIL found missing name '%s'\\n", missing[i]); failures++; }
        }
        if (\(name)_find(NULL) || \(name)_at(count) || \(name)_read(NULL, NULL, 0) != -1) { printf("FAIL null handling\\n"); failures++; }
        printf("checked %zu files, %d failures\\n", count, failures);
        return failures != 0;
    }
    """
}

/// Compiles the checker with `compiler` against an embedded bundle (object or C source) and
/// runs it; returns its output.
func buildAndRunChecker(compiler: String, bundleOutput: URL, in dir: URL, name: String = "assets",
                        extraFlags: [String] = [], libraries: [String] = []) throws -> (program: URL, output: String) {
    let checker = dir.appendingPathComponent("check-\(compiler).c")
    try checkerSource(name: name).write(to: checker, atomically: true, encoding: .utf8)
    let program = dir.appendingPathComponent("check-\(compiler)")
    let include = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/include").path
    let sha = TestEnvironment.root.appendingPathComponent("CSupport/CPolybin/codec/sha256.c").path
    // -pie explicitly: the claim is that the payload links into position-independent programs.
    // Run from the parent directory, so a c-incbin source finds its bundle through -I alone.
    try mustRun(compiler, ["-O1", "-fPIE", "-pie", "-I", dir.path, "-I", include] + extraFlags
        + ["-o", program.path, checker.path, bundleOutput.path, sha] + libraries, cwd: dir.deletingLastPathComponent())
    let result = try run(program.path)
    #expect(result.status == 0, "\(program.lastPathComponent) found problems: \(result.out.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.prefix(5))")
    return (program, result.out)
}

/// The checker's `file` lines.
func fileLines(_ output: String) -> [String] {
    output.split(separator: "\n").filter { $0.hasPrefix("file ") }.map(String.init)
}

/// What readelf says about a linked program: problems with its stack, text relocations or the
/// placement of the payload symbol `symbol`.
func elfProblems(program: URL, symbol: String) throws -> [String] {
    var problems: [String] = []
    let header = try mustRun("readelf", ["-hW", program.path]).out
    if !header.contains("DYN (Position-Independent Executable file)") && !header.contains("DYN (Shared object file)") {
        problems.append("not a PIE")
    }
    let segments = try mustRun("readelf", ["-lW", program.path]).out
    guard let stack = segments.split(separator: "\n").first(where: { $0.contains("GNU_STACK") }) else {
        return problems + ["no GNU_STACK segment (the stack would be executable)"]
    }
    let stackFields = stack.split(separator: " ", omittingEmptySubsequences: true)
    // Type, offset, virtual and physical address, file and memory size, then the flags.
    if !(stackFields.count >= 7 && stackFields[6] == "RW") { problems.append("GNU_STACK is not RW: \(stack)") }
    let dynamic = try mustRun("readelf", ["-dW", program.path]).out
    if dynamic.contains("TEXTREL") { problems.append("has text relocations") }

    let symbols = try mustRun("readelf", ["-sW", program.path]).out
    guard let line = symbols.split(separator: "\n").first(where: { $0.hasSuffix(" \(symbol)") }) else {
        return problems + ["no symbol \(symbol)"]
    }
    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
    guard fields.count >= 8, let index = Int(fields[6]), let value = UInt64(fields[1], radix: 16) else {
        return problems + ["\(symbol) is not in a section: \(line)"]
    }
    if value % 16 != 0 { problems.append("\(symbol) at \(String(value, radix: 16)) is not 16-byte aligned") }
    let sections = try mustRun("readelf", ["-SW", program.path]).out
    guard let section = sections.split(separator: "\n").first(where: { $0.contains("[\(String(format: "%2d", index))]") }) else {
        return problems + ["section \(index) of \(symbol) not found"]
    }
    // Flags sit between the entry size and the link columns: "A" alone, never W or X.
    let parts = section.split(separator: " ", omittingEmptySubsequences: true)
    guard let type = parts.firstIndex(of: "PROGBITS"), parts.count > type + 5 else {
        return problems + ["section of \(symbol) is not PROGBITS: \(section)"]
    }
    let flags = parts[type + 5]
    if !flags.contains("A") || flags.contains("W") || flags.contains("X") {
        problems.append("\(symbol) lies in a section with flags \(flags): \(section)")
    }
    return problems
}
