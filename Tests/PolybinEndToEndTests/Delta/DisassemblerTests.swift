import CPolybin
import Foundation
import Testing
import PolybinTestSupport

/// The audit's disassembler (issue 19): Zydis through dlopen names the ISA set the audit
/// judges each instruction by, and stays out of the runner.
@Suite struct DisassemblerTests {
    @Test func namesTheIsaSetOfKnownInstructions() throws {
        try InstructionFixtures.requireZydis()
        let cases: [(bytes: [UInt8], mnemonic: String, isaSet: String)] = [
            ([0xF3, 0x48, 0x0F, 0xBD, 0xC0], "lzcnt", "LZCNT"),              // lzcnt rax, rax
            ([0xF3, 0x48, 0x0F, 0xBC, 0xC0], "tzcnt", "BMI1"),               // tzcnt rax, rax
            ([0xC4, 0xE2, 0xF9, 0xF7, 0xC0], "shlx", "BMI2"),                // shlx rax, rax, rax
            ([0xC5, 0xFD, 0xFE, 0xC1], "vpaddd", "AVX2"),                    // vpaddd ymm0, ymm0, ymm1
            ([0x62, 0xF1, 0x7D, 0x48, 0xFE, 0xC1], "vpaddd", "AVX512F_512"), // vpaddd zmm0, zmm0, zmm1
            ([0xF3, 0x0F, 0xB8, 0xC1], "popcnt", "POPCNT"),                  // popcnt eax, ecx
            ([0x0F, 0x38, 0xF0, 0x07], "movbe", "MOVBE"),                    // movbe eax, [rdi]
            ([0x48, 0x01, 0xC8], "add", "I86"),
        ]
        for (bytes, mnemonic, isaSet) in cases {
            var insn = pb_disasm_insn()
            #expect(pb_disasm_decode(bytes, bytes.count, &insn) == bytes.count, "\(mnemonic)")
            #expect(insn.mnemonic.map { String(cString: $0) } == mnemonic)
            #expect(insn.isa_set.map { String(cString: $0) } == isaSet, "\(mnemonic)")
        }
        var insn = pb_disasm_insn()
        #expect(pb_disasm_decode([0x0F, 0xFF], 1, &insn) == 0 && insn.mnemonic == nil, "a cut-off instruction is refused")
    }

    /// The audit's sweep counts per ISA set, skips the mnemonics it is told to, and collects
    /// RIP-relative lea targets and the branches that leave the range.
    @Test func theSweepCountsSetsAndCollectsTargets() throws {
        try InstructionFixtures.requireZydis()
        let code: [UInt8] = [
            0xF3, 0x0F, 0x1E, 0xFA,                         // endbr64                    (ignored)
            0x48, 0x8D, 0x05, 0x10, 0x00, 0x00, 0x00,       // lea rax, [rip+0x10]        -> 0x1000+11+0x10
            0xC5, 0xFD, 0xFE, 0xC1,                         // vpaddd ymm0, ymm0, ymm1    AVX2
            0xC5, 0xFD, 0xFE, 0xC1,                         // vpaddd                     AVX2
            0xF3, 0x48, 0x0F, 0xBC, 0xC0,                   // tzcnt rax, rax             (ignored)
            0xE8, 0x00, 0x01, 0x00, 0x00,                   // call +0x100                leaves the range
            0xEB, 0x00,                                     // jmp +0                     stays inside
            0xC3,                                           // ret
        ]
        let ignored: [UnsafeMutablePointer<CChar>] = ["endbr64", "tzcnt"].map { (name: String) in strdup(name)! }
        defer { ignored.forEach { free($0) } }
        var names = ignored.map { UnsafePointer<CChar>($0) as UnsafePointer<CChar>? }
        var sweeper = pb_disasm_sweeper()
        pb_disasm_sweeper_init(&sweeper, &names, names.count)
        var lea = [UInt64](repeating: 0, count: code.count / 2 + 1), branch = lea
        var result = pb_disasm_sweep_result()
        lea.withUnsafeMutableBufferPointer { l in
            branch.withUnsafeMutableBufferPointer { b in
                result.lea_targets = l.baseAddress
                result.branch_targets = b.baseAddress
                result.target_capacity = l.count
                #expect(pb_disasm_sweep(&sweeper, code, UInt64(code.count), 0x1000, &result) == 1)
            }
        }
        #expect(result.instructions == 8 && result.undecodable == 0)
        var sets: [String: UInt32] = [:]
        withUnsafeBytes(of: result.counts) { raw in
            for (id, count) in raw.bindMemory(to: UInt32.self).enumerated() where count != 0 {
                sets[String(cString: pb_disasm_isa_set_name(UInt32(id)))] = count
            }
        }
        #expect(sets["AVX2"] == 2 && sets["BMI1"] == nil && sets["CET"] == nil, "\(sets)")
        #expect(result.lea_count == 1 && lea[0] == 0x1000 + 11 + 0x10)
        #expect(result.branch_count == 1 && branch[0] == 0x1000 + 4 + 7 + 4 + 4 + 5 + 5 + 0x100, "\(branch[0])")
    }

    /// The runner archive (Embedded Swift plus CPolybin) links neither the disassembler nor
    /// dlopen; the instruction decoder it will need is there.
    @Test func runnerArchivesHoldNoDisassembler() throws {
        for archive in [TestEnvironment.runnerArchive, TestEnvironment.requireFile("\(TestEnvironment.buildDir)/libPolybinRunner-aarch64.a")] {
            let symbols = try run("nm", ["-A", archive])
            #expect(symbols.status == 0, "nm \(archive): \(symbols.err)")
            #expect(symbols.out.contains(" T pb_x86_decode"), "\(archive) lacks pb_x86_decode")
            #expect(!symbols.out.contains("pb_disasm") && !symbols.out.contains("dlopen"), "\(archive) holds the disassembler")
        }
    }
}
