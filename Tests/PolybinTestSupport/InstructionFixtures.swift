import CPolybin
import Foundation
import Testing

/// Real code for the instruction layer's tests: the `.text` of programs on this machine and of
/// Tests/Fixtures/insn-mix.c compiled at each x86-64 level (so legacy SSE, VEX and EVEX all
/// occur) and for aarch64, plus Zydis (`polybin audit`'s disassembler) as the reference.
package enum InstructionFixtures {
    /// The x86-64 builds of insn-mix.c, by name, compiled once per test run.
    package static let x86Builds: [(name: String, path: String)] = {
        let dir = try! TestEnvironment.temporaryDirectory("polybin-insn")
        let source = TestEnvironment.root.appendingPathComponent("Tests/Fixtures/insn-mix.c").path
        let flags: [(String, [String])] = [
            ("gcc -O2 -march=x86-64", ["-march=x86-64"]),
            ("gcc -O2 -march=x86-64-v3", ["-march=x86-64-v3"]),
            ("gcc -O2 -march=x86-64-v4", ["-march=x86-64-v4", "-mprefer-vector-width=512"]),
            ("gcc -O2 -static (glibc)", ["-static"]),
        ]
        return flags.map { name, extra in
            let out = dir.appendingPathComponent("mix-\(flags.firstIndex { $0.0 == name }!)").path
            let result = try! run("gcc", ["-O2"] + extra + ["-o", out, source])
            if result.status != 0 { Issue.record("gcc \(extra.joined(separator: " ")) insn-mix.c: \(result.err)") }
            return (name, out)
        }
    }()

    /// Programs this machine has once tools/bootstrap ran, and the Swift toolchain's clang.
    package static var installedPrograms: [String] {
        let clang = (try? shell("readlink -f \"$(command -v clang)\"").out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? ""
        return ["/usr/bin/git", "/usr/bin/zstd", "/usr/bin/cmake", "/usr/bin/qemu-aarch64", clang]
    }

    /// The bytes of a section, located with `readelf -SW` (the ELF module is another's work).
    package static func section(_ name: String, of path: String, readelf: String = "readelf") throws -> [UInt8] {
        let result = try run(readelf, ["-SW", path])
        guard result.status == 0 else { throw FixtureError("\(readelf) -SW \(path): \(result.err)") }
        for line in result.out.split(separator: "\n") {
            guard let close = line.firstIndex(of: "]"), line.contains("[") else { continue }
            let fields = line[line.index(after: close)...].split(separator: " ")
            guard fields.count > 4, fields[0] == name, let offset = UInt64(fields[3], radix: 16),
                  let size = Int(fields[4], radix: 16) else { continue }
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seek(toOffset: offset)
            let data = try handle.read(upToCount: size) ?? Data()
            guard data.count == size else { throw FixtureError("\(path): \(name) is cut short") }
            return [UInt8](data)
        }
        throw FixtureError("\(path) has no \(name) section")
    }

    package static func requireZydis() throws {
        var why: UnsafePointer<CChar>?
        let available = pb_disasm_available(&why) == 1
        try #require(available, "\(why.map { String(cString: $0) } ?? "Zydis is unavailable"): tools/bootstrap installs libzydis-dev")
    }

    package static func hex(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> String {
        (at..<min(at + count, bytes.count)).map { String(format: "%02x", bytes[$0]) }.joined(separator: " ")
    }
}

/// How pb_x86_decode and Zydis compare over a linear sweep that follows Zydis' lengths.
package struct DecoderAgreement: CustomStringConvertible {
    package var instructions = 0        // Zydis decoded them
    package var wrongLength = 0         // we gave another non-zero length
    package var refused = 0             // we returned 0
    package var fieldMismatch = 0       // same length, another rel/rip/imm offset or size
    package var zydisRefused = 0        // bytes Zydis cannot decode (data in .text); the sweep steps one byte
    package var examples: [String] = []

    package init() {}

    package var description: String {
        "\(instructions) instructions: \(wrongLength) wrong lengths, \(fieldMismatch) field mismatches, \(refused) refused; Zydis refused \(zydisRefused) byte positions"
            + (examples.isEmpty ? "" : "; first: " + examples.joined(separator: "; "))
    }

    /// Compares one instruction at `at`; returns Zydis' length (0 when it refuses).
    @discardableResult
    package mutating func compare(_ bytes: UnsafeBufferPointer<UInt8>, at: Int, available: Int) -> Int {
        var zydis = pb_disasm_insn(), ours = pb_x86_insn()
        let code = bytes.baseAddress! + at
        let reference = pb_disasm_decode(code, available, &zydis)
        let length = pb_x86_decode(code, available, &ours)
        guard reference > 0 else {
            zydisRefused += 1
            return 0
        }
        instructions += 1
        var problem: String?
        if length == 0 {
            refused += 1
            if examples.count < 5 { problem = "refused" }
        } else if length != reference {
            wrongLength += 1
            problem = "length \(length), Zydis \(reference)"
        } else if (ours.rel_offset, ours.rel_size, ours.rip_offset, ours.imm_offset, ours.imm_size)
                    != (zydis.rel_offset, zydis.rel_size, zydis.rip_offset, zydis.imm_offset, zydis.imm_size) {
            fieldMismatch += 1
            problem = "rel \(ours.rel_offset)/\(ours.rel_size) rip \(ours.rip_offset) imm \(ours.imm_offset)/\(ours.imm_size), "
                + "Zydis rel \(zydis.rel_offset)/\(zydis.rel_size) rip \(zydis.rip_offset) imm \(zydis.imm_offset)/\(zydis.imm_size)"
        }
        if let problem, examples.count < 5 {
            examples.append("\(String(cString: zydis.mnemonic)) [\(InstructionFixtures.hex(bytes, at, Int(reference)))]: \(problem)")
        }
        return Int(reference)
    }

    package static func sweep(_ code: [UInt8]) -> DecoderAgreement {
        var agreement = DecoderAgreement()
        code.withUnsafeBufferPointer { bytes in
            var at = 0
            while at < bytes.count {
                at += max(1, agreement.compare(bytes, at: at, available: bytes.count - at))
            }
        }
        return agreement
    }
}
