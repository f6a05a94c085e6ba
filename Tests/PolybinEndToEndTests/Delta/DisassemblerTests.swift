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
