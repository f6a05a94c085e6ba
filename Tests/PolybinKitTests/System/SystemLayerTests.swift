import Foundation
import Glibc
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The System layer: errors name the call, the path and the errno; paths keep their bytes.
@Suite struct SystemLayerTests {
    @Test func aFailedOpenNamesTheCallThePathAndTheErrno() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-system")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = FilePath(dir.appendingPathComponent("nope").path)
        do {
            _ = try FileDescriptor.open(missing, .readOnly)
            Issue.record("opening a missing file succeeded")
        } catch let error as SystemError {
            #expect(error.call == "open")
            #expect(error.path == missing)
            #expect(error.errno == ENOENT)
            #expect(error.description == "\(missing): open: No such file or directory")
        }
    }

    @Test func directoryEntriesKeepBytesThatAreNotUTF8() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-system")
        defer { try? FileManager.default.removeItem(at: dir) }
        let name: [UInt8] = [0x61, 0xFF, 0xFE, 0x62]
        let path = FilePath(dir.path).appending(name)
        try Files.write([1, 2, 3], to: path)
        #expect(try FileSystem.entries(of: FilePath(dir.path)) == [name])
        #expect(try Files.read(path) == [1, 2, 3])
        #expect(path.string == nil)
    }

    @Test func aPathWithANULIsRefusedNotShortened() throws {
        let path = FilePath(bytes: Array("/tmp/a".utf8) + [0] + Array("b".utf8))
        #expect(throws: SystemError("open", path, errno: EINVAL)) { try FileDescriptor.open(path, .readOnly) }
    }

    @Test func anAtomicWriteThatFailsLeavesNothingBehind() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-system")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = FilePath(dir.path).appending("out")
        #expect(throws: PolybinError.self) {
            try Files.create(target) { fd in
                try fd.write([1, 2, 3])
                throw PolybinError("stop")
            }
        }
        #expect(try FileSystem.entries(of: FilePath(dir.path)) == [])
    }

    @Test func copyMovesBytesBetweenFilesFromAnOffset() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-system")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = FilePath(dir.path).appending("in"), target = FilePath(dir.path).appending("out")
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try Files.write(bytes, to: source)
        let input = try FileDescriptor.open(source, .readOnly)
        defer { try? input.close() }
        try Files.create(target) { fd in
            try fd.resize(to: 50_001)
            try fd.write([9], at: 0)
            try fd.copy(from: input, at: 10, count: 50_000, to: 1)
        }
        #expect(try Files.read(target) == [9] + bytes[10..<50_010])
    }

    @Test func copyOfASparseFileKeepsItsHolesAndItsBytes() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-system")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = FilePath(dir.path).appending("sparse"), target = FilePath(dir.path).appending("out")
        let size: UInt64 = 64 << 20
        try Files.create(source) { fd in
            try fd.resize(to: size)
            try fd.write([1, 2, 3], at: 0)
            try fd.write([4, 5], at: 40 << 20)
            try fd.write([6], at: size - 1)
        }
        let input = try FileDescriptor.open(source, .readOnly)
        defer { try? input.close() }
        try Files.create(target) { fd in
            try fd.resize(to: size)
            try fd.copy(from: input, at: 0, count: size, to: 0)
        }
        let copied = try Files.read(target)
        #expect(copied.count == Int(size))
        #expect(Array(copied[0..<3]) == [1, 2, 3] && Array(copied[(40 << 20)..<((40 << 20) + 2)]) == [4, 5] && copied.last == 6)
        #expect(copied.filter { $0 != 0 }.count == 6)
        #expect(try FileSystem.status(target).allocated < size / 2, "the copy filled the holes")
    }
}
