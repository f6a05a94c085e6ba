import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// FileHash is the one streaming SHA-256 of an input: through a mapping (fatbin builds), a
/// descriptor (embedded files; holes hashed as zeros unread) or a path (small files in one
/// read). Every way gives the digest of the whole content.
@Suite struct FileHashTests {
    @Test(arguments: [0, 1, 4096, 1 << 20, (1 << 20) + 1, (9 << 20) + 77])
    func everyWayGivesTheDigestOfTheWholeContent(size: Int) throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-filehash")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = FilePath(dir.appendingPathComponent("input").path)
        // Data at both ends and in the middle, holes between: the descriptor path skips them.
        var content = [UInt8](repeating: 0, count: size)
        try Files.create(path) { fd in
            try fd.resize(to: UInt64(size))
            for offset in [0, size / 2, max(size - 5, 0)] where offset < size {
                let marker = Array("mark\(offset)".utf8.prefix(size - offset))
                content.replaceSubrange(offset..<offset + marker.count, with: marker)
                try fd.write(marker, at: UInt64(offset))
            }
        }
        let expected = SHA256.digest(content)
        #expect(try FileHash.digest(ofFileAt: path, size: UInt64(size)) == expected)
        let fd = try Files.openForReading(path)
        defer { try? fd.close() }
        #expect(try FileHash.digest(of: fd, size: UInt64(size)) == expected)
        if size > 0 {
            var hashed: UInt64 = 0
            #expect(FileHash.digest(of: try MappedFile(path)) { hashed += $0 } == expected)
            #expect(hashed == UInt64(size))
        }
    }
}
