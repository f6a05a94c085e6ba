import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// bundle.c keeps the bundle magic masked so that no program holding the reader holds the
/// magic itself: a search for a bundle (`pb_bundle_locate`, `polybin inspect`) must find only
/// real payloads. A Swift literal of the magic once put it into polybin's own text, and
/// `polybin inspect polybin` said "bundle version is not supported". The same holds for the
/// runner mark (text only a runner holds), which tells a stripped fatbin from other programs.
@Suite struct MagicPlacementTests {
    static var magic: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(PB_MAGIC_SIZE))
        pb_magic(&bytes)
        return bytes
    }

    static var runnerMark: [UInt8] { PayloadPlace.runnerMark }

    /// Every offset in `path` where `magic` (the bundle magic unless told) starts.
    static func magicOffsets(in path: String, of magic: [UInt8] = Self.magic) throws -> [Int] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count >= magic.count else { return [] }
        return (0...(bytes.count - magic.count)).filter { i in
            bytes[i] == magic[0] && (1..<magic.count).allSatisfy { bytes[i + $0] == magic[$0] }
        }
    }

    @Test func theReleasePolybinAndBothRunnerArchivesHoldNoMagic() throws {
        let products = [TestEnvironment.polybin, TestEnvironment.runnerArchive,
                        TestEnvironment.requireFile("\(TestEnvironment.buildDir)/libPolybinRunner-aarch64.a")]
        for path in products {
            #expect(try Self.magicOffsets(in: path) == [], "\(path) holds the bundle magic")
        }
    }

    @Test func bothRunnerArchivesHoldTheRunnerMarkAndTheReleasePolybinDoesNot() throws {
        #expect(Self.runnerMark == Array("the payload is gone from this file".utf8))
        #expect(try Self.magicOffsets(in: TestEnvironment.polybin, of: Self.runnerMark) == [])
        for path in [TestEnvironment.runnerArchive, TestEnvironment.requireFile("\(TestEnvironment.buildDir)/libPolybinRunner-aarch64.a")] {
            #expect(try !Self.magicOffsets(in: path, of: Self.runnerMark).isEmpty, "\(path) lacks the runner mark")
        }
    }

    @Test func aLinkedFatbinHoldsTheMagicOnlyWhereItsPayloadStarts() throws {
        let demo = try DemoFixture.get()
        let payload = try LoadedBundle(path: demo.fatbin)
        #expect(try Self.magicOffsets(in: demo.fatbin) == [payload.offsetInFile])
    }

    @Test func inspectingTheReleasePolybinSaysItHoldsNoPayload() throws {
        let result = try run(TestEnvironment.polybin, ["inspect", TestEnvironment.polybin])
        #expect(result.status == 1)
        #expect(result.err == "polybin: \(TestEnvironment.polybin): holds no polybin payload\n")
    }
}
