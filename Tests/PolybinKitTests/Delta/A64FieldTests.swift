import CPolybin
import Foundation
import Testing
import PolybinTestSupport

/// The aarch64 field rules (issue 18) against `aarch64-linux-gnu-objdump -d`: every branch,
/// literal load, ADR and ADRP of cross-compiled programs decodes to the address objdump prints,
/// re-encodes to the same word, and re-encodes to other targets exactly when they fit; every
/// ADRP partner adds the low 12 bits objdump prints.
@Suite struct A64FieldTests {
    static let gcc = "aarch64-linux-gnu-gcc", objdump = "aarch64-linux-gnu-objdump"

    struct Word {
        let address: UInt64, word: UInt32, mnemonic: String, operands: String
        /// The address objdump prints for a PC-relative operand ("400190 <_start+0x80>").
        var printedTarget: UInt64? {
            guard let match = operands.firstMatch(of: /([0-9a-f]+) </) else { return nil }
            return UInt64(match.1, radix: 16)
        }
    }

    /// insn-mix.c (PIE and static glibc) and a64-fields.S (the kinds GCC rarely emits).
    static let programs: [String] = {
        let dir = try! TestEnvironment.temporaryDirectory("polybin-a64")
        let fixtures = TestEnvironment.root.appendingPathComponent("Tests/Fixtures")
        let builds: [(String, [String])] = [
            ("mix-pie", ["-O2", fixtures.appendingPathComponent("insn-mix.c").path]),
            ("mix-static", ["-O2", "-static", fixtures.appendingPathComponent("insn-mix.c").path]),
            ("fields", ["-nostdlib", "-static", fixtures.appendingPathComponent("a64-fields.S").path]),
        ]
        return builds.map { name, arguments in
            let out = dir.appendingPathComponent(name).path
            let result = try! run(gcc, arguments + ["-o", out])
            if result.status != 0 { Issue.record("\(gcc) \(name): \(result.err) (tools/bootstrap installs gcc-aarch64-linux-gnu)") }
            return out
        }
    }()

    static func disassembly(_ path: String) throws -> [Word] {
        let result = try run(objdump, ["-d", path])
        guard result.status == 0 else { throw FixtureError("\(objdump) -d \(path): \(result.err)") }
        return result.out.split(separator: "\n").compactMap { line in
            guard let match = line.wholeMatch(of: /\s*([0-9a-f]+):\t([0-9a-f]{8}) \t(\S+)\s*(.*)/),
                  let address = UInt64(match.1, radix: 16), let word = UInt32(match.2, radix: 16) else { return nil }
            return Word(address: address, word: word, mnemonic: String(match.3), operands: String(match.4))
        }
    }

    static func kind(of word: Word) -> pb_a64_kind? {
        switch word.mnemonic {
        case "b", "bl": return PB_A64_B26
        case "cbz", "cbnz": return PB_A64_IMM19
        case "tbz", "tbnz": return PB_A64_TBZ14
        case "adr": return PB_A64_ADR
        case "adrp": return PB_A64_ADRP
        case "ldr", "ldrsw", "prfm": return word.operands.contains("[") ? PB_A64_OTHER : PB_A64_IMM19
        case _ where word.mnemonic.hasPrefix("b."): return PB_A64_IMM19
        case ".word", "udf": return nil    // data; the rules may read anything into it
        default: return PB_A64_OTHER
        }
    }

    @Test func decodesAndReencodesEveryPcRelativeWord() throws {
        var counts: [String: Int] = [:]
        for path in Self.programs {
            for word in try Self.disassembly(path) {
                guard let expected = Self.kind(of: word) else { continue }
                let kind = pb_a64_classify(word.word)
                #expect(kind == expected, "\(path): \(word.mnemonic) \(word.operands) at \(String(word.address, radix: 16)) classified \(kind)")
                guard expected != PB_A64_OTHER, kind == expected else { continue }
                counts[word.mnemonic.hasPrefix("b.") ? "b.cond" : word.mnemonic, default: 0] += 1
                var target: UInt64 = 0, again: UInt32 = 0
                #expect(pb_a64_target(word.word, word.address, &target) == 1)
                #expect(target == word.printedTarget, "\(path): \(word.mnemonic) \(word.operands) at \(String(word.address, radix: 16)) decodes to \(String(target, radix: 16))")
                #expect(pb_a64_retarget(word.word, word.address, target, &again) == 1 && again == word.word,
                        "\(word.mnemonic) at \(String(word.address, radix: 16)) does not re-encode to itself")
                Self.checkReach(word, kind: kind)
            }
        }
        print("aarch64 PC-relative words checked: \(counts.sorted { $0.key < $1.key })")
        for mnemonic in ["b", "bl", "b.cond", "cbz", "cbnz", "tbz", "tbnz", "adr", "adrp", "ldr", "ldrsw", "prfm"] {
            #expect(counts[mnemonic, default: 0] > 0, "no \(mnemonic) in the fixtures")
        }
    }

    /// decode(encode(t)) == t for targets at the edges of each field's reach, and refusal one
    /// step beyond them or off the field's alignment.
    static func checkReach(_ word: Word, kind: pb_a64_kind) {
        let (step, bits): (Int64, Int64) = switch kind {
        case PB_A64_B26: (4, 26)
        case PB_A64_IMM19: (4, 19)
        case PB_A64_TBZ14: (4, 14)
        case PB_A64_ADR: (1, 21)
        default: (4096, 21)
        }
        let base = kind == PB_A64_ADRP ? word.address & ~0xFFF : word.address
        let lowest = -(Int64(1) << (bits - 1)) * step, highest = ((Int64(1) << (bits - 1)) - 1) * step
        for (offset, fits) in [(lowest, true), (highest, true), (lowest - step, false), (highest + step, false), (step, true), (-step, true)] {
            let target = base &+ UInt64(bitPattern: offset)
            var encoded: UInt32 = 0, decoded: UInt64 = 0
            let ok = pb_a64_retarget(word.word, word.address, target, &encoded) == 1
            #expect(ok == fits, "\(word.mnemonic) at \(String(word.address, radix: 16)) to offset \(offset): \(ok ? "encoded" : "refused")")
            if ok {
                #expect(pb_a64_classify(encoded) == kind && pb_a64_target(encoded, word.address, &decoded) == 1 && decoded == target)
                #expect(encoded & ~Self.fieldMask(kind) == word.word & ~Self.fieldMask(kind), "re-encoding changed bits outside the field")
            }
        }
        if step > 1 {
            var encoded: UInt32 = 0
            #expect(pb_a64_retarget(word.word, word.address, base &+ UInt64(step / 2), &encoded) == 0, "misaligned target accepted")
        }
    }

    static func fieldMask(_ kind: pb_a64_kind) -> UInt32 {
        switch kind {
        case PB_A64_B26: 0x03FF_FFFF
        case PB_A64_IMM19: 0x00FF_FFE0
        case PB_A64_TBZ14: 0x0007_FFE0
        default: 0x60FF_FFE0
        }
    }

    @Test func pairsEachAdrpWithTheLow12BitsObjdumpPrints() throws {
        var pairs = 0
        for path in Self.programs {
            let words = try Self.disassembly(path)
            for (index, adrp) in words.enumerated() where adrp.mnemonic == "adrp" {
                // The first partner within 8 words, as the normaliser looks for it.
                for word in words[(index + 1)..<min(index + 9, words.count)] {
                    var low12: UInt32 = 0
                    guard pb_a64_page_partner(adrp.word, word.word, &low12) == 1 else { continue }
                    pairs += 1
                    let printed = word.operands.firstMatch(of: /#(0x[0-9a-f]+|[0-9]+)\]?$/).map { match in
                        match.1.hasPrefix("0x") ? UInt32(match.1.dropFirst(2), radix: 16) : UInt32(match.1)
                    } ?? 0
                    #expect(low12 == printed, "\(path): \(word.mnemonic) \(word.operands) after adrp at \(String(adrp.address, radix: 16)): \(low12)")
                    var again: UInt32 = 0
                    #expect(pb_a64_set_page_offset(word.word, low12, &again) == 1 && again == word.word)
                    break
                }
            }
        }
        print("ADRP partners checked: \(pairs)")
        #expect(pairs > 100)
    }

    /// a64-fields.S's pairs reach `table` plus the offsets written in the source, each access
    /// size scaled as the Arm ARM says; offsets off an access's alignment are refused.
    @Test func adrpPartnersOfEverySizeReachTheirTarget() throws {
        let path = Self.programs[2]
        let symbols = try run("aarch64-linux-gnu-nm", [path])
        let table = try #require(symbols.out.split(separator: "\n").first { $0.hasSuffix(" table") }.flatMap { UInt64($0.prefix(16), radix: 16) })
        let words = try Self.disassembly(path)
        var offsets: [UInt64] = []
        for (index, adrp) in words.enumerated() where adrp.mnemonic == "adrp" {
            var page: UInt64 = 0, low12: UInt32 = 0
            #expect(pb_a64_target(adrp.word, adrp.address, &page) == 1)
            let partner = words[index + 1]
            try #require(pb_a64_page_partner(adrp.word, partner.word, &low12) == 1, "\(partner.mnemonic) \(partner.operands)")
            offsets.append(page + UInt64(low12) - table)
            var out: UInt32 = 0
            let misaligned = partner.mnemonic == "ldrb" || partner.mnemonic == "add" ? 4096 : low12 + 1
            #expect(pb_a64_set_page_offset(partner.word, misaligned, &out) == 0, "\(partner.mnemonic) accepted \(misaligned)")
            // Another register's ADRP is no partner.
            #expect(pb_a64_page_partner(adrp.word ^ 1, partner.word, &low12) == 0)
        }
        #expect(offsets == [0, 8, 3, 6, 12, 16, 24])
    }
}
