import Foundation
@testable import PolybinKit
import Testing
import PolybinTestSupport

/// Issue 9, item 4: one streaming bundle writer. Frames stream into their final place in the
/// file as they are made, in whatever order they finish; the streamed outputs are the bytes
/// the in-memory emitters give.
@Suite struct StreamingWriterTests {
    static let blobs: [[UInt8]] = [Array(repeating: 1, count: 37), [], Array(0..<200).map { UInt8($0 & 0xFF) }, [9, 9, 9]]

    /// Writes `blobs` through a BlobStream, each in chunks of 16 bytes, the chunks of all blobs
    /// interleaved in `order` and each blob finished in `finish` order; returns the file.
    static func streamed(order: [Int], finish: [Int], in dir: URL) throws -> [UInt8] {
        let path = FilePath(dir.appendingPathComponent("out-\(order)-\(finish)").path)
        try Files.create(path) { fd in
            let stream = BlobStream(fd: fd, dataStart: 64, blobs: blobs.count)
            let chunks = blobs.map { blob in stride(from: 0, to: blob.count, by: 16).map { Array(blob[$0..<min(blob.count, $0 + 16)]) } }
            var next = Array(repeating: 0, count: blobs.count)
            var progressed = true
            while progressed {
                progressed = false
                for i in order where next[i] < chunks[i].count {
                    try chunks[i][next[i]].withUnsafeBytes { try stream.append(i, $0) }
                    next[i] += 1
                    progressed = true
                }
            }
            for i in finish { try stream.finish(i) }
            #expect(stream.blobSizes == blobs.map { UInt64($0.count) })
        }
        return try Files.read(path)
    }

    @Test func blobsLandWhereTheLayoutPutsThemInWhateverOrderTheyFinish() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let layout = try PolybinKit.BundleLayout(kind: .fatbin, inputs: Self.blobs.enumerated().map { i, blob in
            PolybinKit.BundleLayout.Input(name: "b\(i)", codec: .zstd, size: 1, storedSize: UInt64(blob.count), identity: nil)
        })
        let inOrder = try Self.streamed(order: [0, 1, 2, 3], finish: [0, 1, 2, 3], in: dir)
        for (i, blob) in Self.blobs.enumerated() {
            let at = Int(layout.blobs[i].offset - layout.dataOffset) + 64
            try #require(inOrder.count >= at + blob.count, "blob \(i) is cut short")
            #expect(Array(inOrder[at..<at + blob.count]) == blob, "blob \(i)")
        }
        #expect(try Self.streamed(order: [3, 2, 1, 0], finish: [3, 2, 1, 0], in: dir) == inOrder)
        #expect(try Self.streamed(order: [2, 0, 3, 1], finish: [2, 3, 0, 1], in: dir) == inOrder)
        #expect(try Self.streamed(order: [1, 3, 0, 2], finish: [0, 2, 1, 3], in: dir) == inOrder)
    }

    /// `polybin pack` and `polybin object` stream into their files; the bytes are the ones
    /// the in-memory pack and emitter give.
    @Test func streamedBundleAndObjectMatchTheInMemoryOnes() throws {
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (flavors, _, _) = try TestBytes.threeBuilds(in: dir)
        let bundle = dir.appendingPathComponent("b.bundle").path, object = dir.appendingPathComponent("b.o").path
        let packed = try run(TestEnvironment.polybin, ["pack", "-o", bundle] + flavors.map { "--flavor=\($0.name)=\($0.path)" })
        #expect(packed.status == 0, "\(packed.err)")
        let inMemory = try FatbinPacker().pack(flavors)
        #expect(try Files.read(bundle) == inMemory)
        let emitted = try run(TestEnvironment.polybin, ["object", bundle, "-o", object])
        #expect(emitted.status == 0, "\(emitted.err)")
        #expect(try Files.read(object) == ObjectEmitter(section: Fatbin.payloadSection).object(for: inMemory))
    }
}
