import CPolybin
import Foundation
import Testing
import PolybinTestSupport

/// pb_x86_decode (the delta's instruction decoder, issue 18) against Zydis over real code and
/// hostile bytes: where both decode they agree on the length and on every rel/rip/imm field,
/// and the decoder never answers more than 15 bytes or reads a byte it was not given.
@Suite struct X86DecoderTests {
    @Test func agreesWithZydisOnEveryInstructionOfCompiledPrograms() throws {
        try InstructionFixtures.requireZydis()
        for (name, path) in InstructionFixtures.x86Builds {
            let agreement = DecoderAgreement.sweep(try InstructionFixtures.section(".text", of: path))
            print("insn-mix.c, \(name): \(agreement)")
            #expect(agreement.instructions > 300, "\(name): too little code to test")
            #expect(agreement.wrongLength == 0 && agreement.fieldMismatch == 0 && agreement.refused == 0, "\(name): \(agreement)")
        }
    }

    @Test func agreesWithZydisOnEveryInstructionOfInstalledPrograms() throws {
        try InstructionFixtures.requireZydis()
        for path in InstructionFixtures.installedPrograms {
            let agreement = DecoderAgreement.sweep(try InstructionFixtures.section(".text", of: path))
            print("\(path): \(agreement)")
            #expect(agreement.instructions > 10_000, "\(path): too little code to test")
            #expect(agreement.wrongLength == 0 && agreement.fieldMismatch == 0 && agreement.refused == 0, "\(path): \(agreement)")
        }
    }

    /// VEX and EVEX forms with RIP-relative operands and trailing immediates, which a byte
    /// pattern finder misses and a decoder must place exactly.
    @Test func placesRipRelativeFieldsOfVexAndEvexForms() throws {
        let cases: [(bytes: [UInt8], length: Int, rip: Int, imm: Int)] = [
            ([0xC5, 0xFC, 0x28, 0x05, 1, 2, 3, 4], 8, 4, 0),                        // vmovaps ymm0, [rip]
            ([0xC4, 0xE3, 0x7D, 0x18, 0x05, 1, 2, 3, 4, 0x01], 10, 5, 9),           // vinsertf128 ymm0, ymm0, [rip], 1
            ([0x62, 0xF1, 0x7C, 0x48, 0x28, 0x05, 1, 2, 3, 4], 10, 6, 0),           // vmovaps zmm0, [rip]
            ([0x62, 0xF3, 0x7D, 0x48, 0x1E, 0x0D, 1, 2, 3, 4, 0x05], 11, 6, 10),   // vpcmpud k1, zmm0, [rip], 5
            ([0x62, 0xF1, 0x77, 0x08, 0x7B, 0x05, 1, 2, 3, 4], 10, 6, 0),           // vcvtusi2sd xmm0, xmm1, [rip]
            ([0x62, 0xF1, 0x7C, 0x48, 0x78, 0x05, 1, 2, 3, 4], 10, 6, 0),           // vcvttps2udq zmm0, [rip]
            ([0x66, 0x0F, 0x3A, 0x0F, 0x05, 1, 2, 3, 4, 0x08], 10, 5, 9),           // palignr xmm0, [rip], 8
            ([0x48, 0xC7, 0x05, 1, 2, 3, 4, 0x78, 0x56, 0x34, 0x12], 11, 3, 7),    // mov qword [rip], imm32
            ([0x66, 0x81, 0x3D, 1, 2, 3, 4, 0x34, 0x12], 9, 3, 7),                 // cmp word [rip], imm16
            ([0xF6, 0x05, 1, 2, 3, 4, 0x80], 7, 2, 6),                             // test byte [rip], 0x80
        ]
        for (bytes, length, rip, imm) in cases {
            var insn = pb_x86_insn()
            let padded = bytes + [UInt8](repeating: 0x90, count: 16)
            for available in [bytes.count, padded.count] {
                #expect(pb_x86_decode(padded, available, &insn) == length, "\(bytes) with \(available) bytes")
                #expect((Int(insn.rip_offset), Int(insn.imm_offset)) == (rip, imm), "\(bytes) with \(available) bytes")
            }
        }
    }

    /// The odd immediates: each length checked by hand against the SDM, then against Zydis.
    @Test func sizesTheOddImmediates() throws {
        try InstructionFixtures.requireZydis()
        let cases: [(bytes: [UInt8], length: Int)] = [
            ([0xF6, 0xC1, 0x01], 3), ([0xF6, 0xD1], 2),                      // test cl, 1 / not cl
            ([0xF7, 0xC1, 1, 0, 0, 0], 6), ([0x66, 0xF7, 0xC1, 1, 0], 5),      // test ecx / cx, imm
            ([0xF7, 0xC9, 1, 0, 0, 0], 6), ([0xF7, 0xD9], 2),                 // test /1, neg ecx
            ([0xA1, 1, 2, 3, 4, 5, 6, 7, 8], 9), ([0x67, 0xA1, 1, 2, 3, 4], 6), // mov eax, moffs64 / moffs32
            ([0xC8, 0x10, 0x00, 0x01], 4), ([0xC2, 0x08, 0x00], 3), ([0xCA, 0x08, 0x00], 3),
            ([0x0F, 0x0F, 0xC1, 0x9E], 4),                                   // pfadd mm0, mm1 (3DNow)
            ([0x66, 0x0F, 0x78, 0xC1, 0x08, 0x10], 6), ([0xF2, 0x0F, 0x78, 0xC1, 0x08, 0x10], 6), // extrq, insertq
            ([0x66, 0x0F, 0x79, 0xC1], 4), ([0x0F, 0x78, 0xC1], 3),          // extrq xmm, xmm / vmread
            ([0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8], 10), ([0xB8, 1, 2, 3, 4], 5), ([0x66, 0xB8, 1, 2], 4),
            ([0x66, 0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8], 11),                // REX.W wins over 66
            ([0x6A, 0x01], 2), ([0x68, 1, 2, 3, 4], 5), ([0x66, 0x68, 1, 2], 4),
            ([0x48, 0x66, 0xB8, 1, 2], 5),                                   // REX before 66 is void
            ([0xC7, 0xF8, 1, 2, 3, 4], 6), ([0xC6, 0xF8, 0x01], 3),          // xbegin, xabort
            ([0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x67, 0xF3, 0xF2, 0x66, 0xF0, 0x48, 0x83, 0x00, 0x01], 15),
        ]
        for (bytes, length) in cases {
            var insn = pb_x86_insn(), zydis = pb_disasm_insn()
            let padded = bytes + [UInt8](repeating: 0xCC, count: 16)
            #expect(pb_x86_decode(padded, padded.count, &insn) == length, "\(bytes)")
            #expect(pb_x86_decode(padded, bytes.count, &insn) == length, "\(bytes), only its own bytes")
            #expect(pb_x86_decode(padded, bytes.count - 1, &insn) == 0, "\(bytes), one byte short")
            #expect(pb_disasm_decode(padded, padded.count, &zydis) == length, "\(bytes): Zydis says \(zydis.length)")
        }
        // One prefix more than 15 bytes allow; 66-prefixed rel32 (rel16 on AMD only); XOP.
        for refused: [UInt8] in [[0x26, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x67, 0xF3, 0xF2, 0x66, 0xF0, 0x48, 0x83, 0x00, 0x01],
                                 [0x66, 0xE8, 1, 2, 3, 4], [0x66, 0x0F, 0x84, 1, 2, 3, 4], [0x8F, 0xE8, 0x78, 0xC2, 0xEF, 0x02]] {
            var insn = pb_x86_insn()
            let padded = refused + [UInt8](repeating: 0xCC, count: 16)
            #expect(pb_x86_decode(padded, padded.count, &insn) == 0 && insn.length == 0, "\(refused)")
        }
    }

    /// Random bytes weighted towards prefixes and escapes, each placed right before a page the
    /// process cannot read, and mutated windows of compiled code: no read past `available`
    /// (the guard page faults), no length above 15 or `available`, fields inside the
    /// instruction, and agreement with Zydis wherever both decode.
    @Test func hostileBytesNeverReadPastTheirEndAndAgreeWithZydis() throws {
        try InstructionFixtures.requireZydis()
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let map = try #require(mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        #expect(map != MAP_FAILED)
        defer { munmap(map, 2 * page) }
        #expect(mprotect(map + page, page, PROT_NONE) == 0)
        let end = map.assumingMemoryBound(to: UInt8.self) + page

        var random = SplitMix(seed: 0x5EED_1234)
        let favoured: [UInt8] = [0x66, 0x67, 0xF2, 0xF3, 0xF0, 0x2E, 0x64, 0x48, 0x41, 0x4C, 0x0F, 0x0F, 0x0F, 0x38, 0x3A,
                                 0xC4, 0xC5, 0x62, 0x8F, 0xF6, 0xF7, 0xC6, 0xC7, 0xA1, 0xC8, 0x05, 0x04, 0x24]
        var agreement = DecoderAgreement()
        let compiled = try InstructionFixtures.section(".text", of: InstructionFixtures.x86Builds[2].path)
        for trial in 0..<400_000 {
            let count = 1 + Int(random.next() % 20)
            let start = end - count
            if trial % 2 == 0 {
                for k in 0..<count {
                    let r = random.next()
                    start[k] = r % 3 == 0 ? favoured[Int(r >> 8) % favoured.count] : UInt8(truncatingIfNeeded: r >> 16)
                }
            } else {
                let from = Int(random.next() % UInt64(compiled.count - count))
                for k in 0..<count { start[k] = compiled[from + k] }
                for _ in 0..<(1 + random.next() % 3) { start[Int(random.next() % UInt64(count))] = UInt8(truncatingIfNeeded: random.next()) }
            }
            var insn = pb_x86_insn()
            let length = pb_x86_decode(start, count, &insn)
            #expect(length <= min(15, count) && Int(insn.length) == length, "\(length) from \(count) bytes")
            if length == 0 {
                #expect((insn.rel_offset, insn.rel_size, insn.rip_offset, insn.imm_offset, insn.imm_size) == (0, 0, 0, 0, 0))
            } else {
                #expect(Int(insn.rel_offset) + Int(insn.rel_size) <= length && Int(insn.imm_offset) + Int(insn.imm_size) <= length)
                #expect(insn.rip_offset == 0 || Int(insn.rip_offset) + 4 <= length)
            }
            let agreed = (agreement.wrongLength, agreement.fieldMismatch)
            agreement.compare(UnsafeBufferPointer(start: start, count: count), at: 0, available: count)
            if (agreement.wrongLength, agreement.fieldMismatch) != agreed { break }
        }
        print("hostile bytes: \(agreement)")
        #expect(agreement.wrongLength == 0 && agreement.fieldMismatch == 0, "\(agreement)")
        #expect(agreement.instructions > 100_000, "too few inputs both decoders took: \(agreement)")
    }
}

/// A small deterministic generator (SplitMix64): a failure replays with the same bytes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
