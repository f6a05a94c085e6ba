import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// Issue 9, item 4 for the C modes: `--mode c` and `generate-c` write the C source in one
/// pass, streaming each input into the literal, so their peak memory does not grow with the
/// payload; the literal is byte for byte what the whole-buffer encoder wrote before.
@Suite struct EmbedCStreaming {
    /// The encoder `--mode c` used before it streamed (the whole payload in one array): the
    /// reference every streamed literal must equal.
    static func wholeBufferLiteral(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), question = UInt8(ascii: "?")
        if payload.isEmpty { out.append(contentsOf: [quote, quote]) }
        var column = 0
        for (i, byte) in payload.enumerated() {
            if column == 0 { out.append(quote) }
            switch byte {
            case quote, backslash:
                out.append(backslash); out.append(byte)
            case question:
                if i > 0 && payload[i - 1] == question { out.append(backslash) }
                out.append(byte)
            case 0x20...0x7E:
                out.append(byte)
            default:
                out.append(backslash)
                let next = i + 1 < payload.count ? payload[i + 1] : 0
                let full = next >= UInt8(ascii: "0") && next <= UInt8(ascii: "7")
                if full || byte >= 64 { out.append(UInt8(ascii: "0") + byte >> 6) }
                if full || byte >= 8 { out.append(UInt8(ascii: "0") + (byte >> 3) & 7) }
                out.append(UInt8(ascii: "0") + byte & 7)
            }
            column += 1
            if column == CEmitter.bytesPerLine || i == payload.count - 1 {
                out.append(quote)
                out.append(UInt8(ascii: "\n"))
                column = 0
            }
        }
        return out
    }

    /// Bytes that stress the encoder: escapes followed by octal digits, "??" runs, quotes,
    /// backslashes and NULs, at every line boundary.
    static func tricky(_ count: Int, seed: UInt64) -> [UInt8] {
        let alphabet: [UInt8] = [0, 1, 7, 8, 63, 64, 0x7F, 0xFF, 0x22, 0x5C, 0x3F, 0x3F, 0x30, 0x37, 0x38, 0x41, 0x0A]
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state & 0x100 == 0 ? alphabet[Int(state % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    @Test func theStreamedLiteralEqualsTheWholeBufferOneForAnySplit() throws {
        for (n, count) in [0, 1, 2, 2047, 2048, 2049, 4096, 9000].enumerated() {
            let payload = Self.tricky(count, seed: UInt64(n) &* 7919 &+ 3)
            let emitter = CEmitter(symbol: "s", section: ".rodata.s")
            let whole = emitter.definitions(for: payload)
            // The literal sits between the declaration's "=\n" and ";\n"; check it directly.
            let start = whole.firstRange(of: Array("=\n".utf8))!.upperBound
            let end = whole.lastRange(of: Array(";\nconst uint64_t".utf8))!.lowerBound
            #expect(Array(whole[start..<end]) == Self.wholeBufferLiteral(payload), "\(count) bytes")
            // The same definitions fed in pieces of every size, down to one byte.
            for piece in [1, 3, 2048, 5000] {
                var streamed: [UInt8] = []
                try emitter.writeDefinitions(size: UInt64(count), to: { streamed.append(contentsOf: $0) }) { literal in
                    var at = 0
                    while at < count {
                        let n = min(piece, count - at)
                        try payload[at..<at + n].withUnsafeBytes { try literal.write($0) }
                        at += n
                    }
                }
                #expect(streamed == whole, "\(count) bytes in pieces of \(piece)")
            }
        }
    }

    /// A 40 MiB file (not compressible, so the literal is about 110 MiB): `--mode c` of it and
    /// `generate-c` of its bundle peak below the payload's size (before streaming: the
    /// bundle, its literal and the file, ~5x), and both give the same literal, which is the
    /// bundle c-incbin wrote (every byte of the packer's file-streaming path checked).
    @Test func modeCAndGenerateCStreamWithMemoryBelowThePayload() throws {
        guard EmbedCompilers.require("cc") else { return }
        let dir = try TestEnvironment.temporaryDirectory("polybin-c-stream")
        defer { try? FileManager.default.removeItem(at: dir) }
        let size = 40 << 20
        var data = [UInt8](repeating: 0, count: size)
        data.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15
            for i in words.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                words[i] = state
            }
        }
        try Files.write(data, to: FilePath(dir.appendingPathComponent("big.bin").path))
        try Files.write(Array("small\n".utf8), to: FilePath(dir.appendingPathComponent("small.txt").path))
        data = []
        let parent = dir.appendingPathComponent("peak")
        try ColdLaunchMemoryTests.parent.write(to: dir.appendingPathComponent("peak.c"), atomically: true, encoding: .utf8)
        try mustRun("cc", ["-O1", "-o", parent.path, dir.appendingPathComponent("peak.c").path])
        func peak(_ arguments: [String]) throws -> Int {
            let result = try run(parent.path, [TestEnvironment.polybin] + arguments, cwd: dir)
            #expect(result.status == 0, "polybin \(arguments.joined(separator: " ")): \(result.err)")
            return try #require(ColdLaunchMemoryTests.peakKiB(result))
        }
        let inputs = ["big.bin", "small.txt"]
        let embedPeak = try peak(["embed", "--name", "t", "--mode", "c", "-o", "t.c"] + inputs)
        try embed(["--name", "t", "--mode", "c-incbin", "-o", "i.c", "--bundle", "t.bundle"] + inputs, cwd: dir)
        let generatePeak = try peak(["generate-c", "t.bundle", "-o", "g.c", "--symbol", "t_payload", "--section", ".rodata.polybin.t"])
        // polybin alone peaks at about 20 MiB; the payload it must not hold is 40 MiB.
        let limit = size >> 10
        #expect(embedPeak < limit, "--mode c of 40 MiB peaked at \(embedPeak) KiB")
        #expect(generatePeak < limit, "generate-c of 40 MiB peaked at \(generatePeak) KiB")
        func definitions(_ file: String) throws -> [UInt8] {
            let text = try Files.read(FilePath(dir.appendingPathComponent(file).path))
            let start = try #require(text.firstRange(of: Array("/* Aligned for in-place reads".utf8))).lowerBound
            let end = try #require(text.firstRange(of: Array("_payload_size = ".utf8))).upperBound
            return Array(text[start..<end])
        }
        let fromFiles = try definitions("t.c")
        #expect(fromFiles.count > 3 * size / 2, "the literal of \(size) bytes is only \(fromFiles.count) bytes")
        #expect(fromFiles == (try definitions("g.c")), "--mode c and generate-c of its bundle differ")
    }
}
