import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// TESTING.md, "Fuzzing": the inputs under Tests/Fuzz/regressions (findings of tools/fuzz
/// turned into regressions, and hand-made hostile bundles) replayed on every test run.
@Suite struct FuzzRegressionTests {
    static let regressions = TestEnvironment.root.appendingPathComponent("Tests/Fuzz/regressions")

    static func inputs(_ target: String) throws -> [URL] {
        let dir = regressions.appendingPathComponent(target)
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// What fuzz_bundle.c does with an opened bundle, through the same C calls. Returns
    /// whether every entry passed its check and decoded to its hash.
    @discardableResult
    static func exercise(_ bundle: inout pb_bundle, _ label: String) -> Bool {
        var allGood = true
        let base = UnsafeRawPointer(bundle.base!), end = base + Int(bundle.size)
        for i in 0..<bundle.count {
            var entry = pb_entry()
            pb_bundle_entry(&bundle, i, &entry)
            let name = UnsafeRawPointer(entry.name!), stored = UnsafeRawPointer(entry.stored!)
            #expect(name >= base && name + Int(entry.name_size) < end, "\(label): entry \(i)'s name lies outside the bundle")
            #expect(stored >= base && Int(entry.stored_size) <= stored.distance(to: end), "\(label): entry \(i)'s data lies outside the bundle")
            #expect(pb_bundle_find(&bundle, entry.name, Int(entry.name_size)) == Int64(i), "\(label): entry \(i) is not found by its name")
            guard pb_entry_check(&bundle, i) == PB_OK, entry.size <= 8 << 20 else {
                allGood = false
                continue
            }
            var out = [UInt8](repeating: 0, count: Int(entry.size))
            let status = out.withUnsafeMutableBytes { pb_entry_decode(&bundle, i, $0.baseAddress, UInt64($0.count)) }
            if status == PB_OK {
                let digest = Array(UnsafeBufferPointer(start: entry.sha256, count: 32))
                #expect(out.withUnsafeBytes { BundleDigest.sha256($0) } == digest, "\(label): entry \(i) decoded to bytes that fail its hash")
            } else {
                allGood = false
            }
        }
        return allGood
    }

    @Test func bundleRegressionInputsAreRefusedOrReadSafely() throws {
        let files = try Self.inputs("bundle")
        #expect(!files.isEmpty, "no inputs in \(Self.regressions.path)/bundle")
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            var bundle = pb_bundle()
            let label = file.lastPathComponent
            // valid-* must read in full; every other input is damaged or lies somewhere.
            let readInFull = bytes.withUnsafeBytes { raw in
                pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count)) == PB_OK && Self.exercise(&bundle, label)
            }
            #expect(readInFull == label.hasPrefix("valid-"), "\(label): \(readInFull ? "read in full" : "refused")")
            for rehash in [false, true] {
                var input = bytes
                if rehash { BundleDigest.rehashMeta(&input) }
                input.withUnsafeBytes { raw in
                    if pb_bundle_open(&bundle, raw.baseAddress, UInt64(raw.count)) == PB_OK { Self.exercise(&bundle, label) }
                    if pb_bundle_locate(&bundle, raw.baseAddress, UInt64(raw.count)) == PB_OK { Self.exercise(&bundle, label) }
                }
            }
        }
    }

    /// What fuzz_denormalise.c does, on its regression inputs. Even inputs (T's side block,
    /// R's, the normalised build) are denormalised into an output that ends at a guard page:
    /// valid-* come back, every other one is refused. Odd inputs are builds: a normalisation
    /// that succeeds comes back exactly, anything else is a refusal.
    @Test func denormaliseRegressionInputsAreRefusedOrComeBack() throws {
        let files = try Self.inputs("denormalise")
        #expect(!files.isEmpty, "no inputs in \(Self.regressions.path)/denormalise")
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file)), label = file.lastPathComponent
            guard let mode = bytes.first else { continue }
            if mode & 1 == 1 {
                let build = Array(bytes.dropFirst())
                let reference: [UInt8]? = mode & 2 != 0 ? build : nil
                let n = LabelNormalisationTests.normalise(build, against: reference)
                #expect(n.status != PB_DELTA_E_CORRUPT && n.status != PB_DELTA_E_ARGUMENT, "\(label): \(n.reason)")
                guard n.status == PB_DELTA_OK else { continue }
                let own = reference.map { LabelNormalisationTests.normalise($0, against: nil).side }
                let back = LabelNormalisationTests.denormalise(n.bytes, side: n.side, referenceSide: own)
                #expect(back.status == PB_DELTA_OK && back.bytes == build, "\(label): the round trip differs")
            } else {
                guard bytes.count >= 5 else { continue }
                let sideSize = Int(bytes[1]) | Int(bytes[2]) << 8, referenceSize = Int(bytes[3]) | Int(bytes[4]) << 8
                guard sideSize + referenceSize <= bytes.count - 5 else { continue }
                let side = Array(bytes[5..<(5 + sideSize)])
                let referenceSide = Array(bytes[(5 + sideSize)..<(5 + sideSize + referenceSize)])
                let normalised = Array(bytes[(5 + sideSize + referenceSize)...])
                let back = LabelNormalisationTests.denormalise(normalised, side: side, referenceSide: referenceSize > 0 ? referenceSide : nil)
                #expect((back.status == PB_DELTA_OK) == label.hasPrefix("valid-"), "\(label): \(back.status)")
            }
        }
    }

    /// What fuzz_insn.c checks, on its regression inputs, through the same C calls.
    @Test func insnRegressionInputsDecodeWithinTheirBytes() throws {
        let files = try Self.inputs("insn")
        #expect(!files.isEmpty, "no inputs in \(Self.regressions.path)/insn")
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            for at in bytes.indices {
                var insn = pb_x86_insn()
                let length = bytes.withUnsafeBufferPointer { pb_x86_decode($0.baseAddress! + at, bytes.count - at, &insn) }
                #expect(length <= min(15, bytes.count - at) && Int(insn.length) == length, "\(file.lastPathComponent) at \(at)")
                #expect(Int(insn.rel_offset) + Int(insn.rel_size) <= length && Int(insn.imm_offset) + Int(insn.imm_size) <= length)
            }
            for at in stride(from: 0, to: bytes.count - 3, by: 4) {
                let word = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                var target: UInt64 = 0, again: UInt32 = 0
                if pb_a64_target(word, 0x400000, &target) == 1 {
                    #expect(pb_a64_retarget(word, 0x400000, target, &again) == 1 && again == word, "\(file.lastPathComponent) word \(at / 4)")
                }
            }
        }
    }

    /// valid-* inputs read cleanly in full through every reader; every other one is refused
    /// somewhere, with a reason, or has its FDEs reported.
    @Test func elfRegressionInputsAreRefusedOrReadSafely() throws {
        let files = try Self.inputs("elf")
        #expect(!files.isEmpty, "no inputs in \(Self.regressions.path)/elf")
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            let label = file.lastPathComponent
            var reports: [String] = []
            do {
                reports = ELFExercise.reports(try ELFFile(copying: bytes))
            } catch {
                reports = ["\(error)"]
                #expect(!"\(error)".isEmpty, "\(label): refused without a reason")
            }
            if let elf = try? ELFFile(copying: bytes, segmentsOnly: true) { _ = ELFExercise.reports(elf) }
            #expect(reports.isEmpty == label.hasPrefix("valid-"), "\(label): \(reports)")
        }
    }

    @Test func everyRegressionInputReplaysCleanUnderAddressSanitizer() throws {
        let result = try run(TestEnvironment.root.appendingPathComponent("tools/fuzz").path, ["--replay"], cwd: TestEnvironment.root)
        #expect(result.status == 0, "tools/fuzz --replay: \(result.err)")
        print(result.out, terminator: "")
    }
}
