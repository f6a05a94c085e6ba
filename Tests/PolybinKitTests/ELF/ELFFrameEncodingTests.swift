import CPolybin
import Foundation
import Testing
@testable import PolybinKit
import PolybinTestSupport

/// The pointer encodings of .eh_frame that compilers rarely emit (absolute udata8, pcrel
/// sdata8, datarel sdata4, udata4 with an indirect personality and an LSDA), and zero-length
/// entries between FDEs, in a small executable built here byte by byte: sections only, .text at
/// 0x401000, .eh_frame at 0x402000, .got at 0x403000.
@Suite struct ELFFrameEncodingTests {
    static let text: UInt64 = 0x401000, frames: UInt64 = 0x402000, got: UInt64 = 0x403000

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    /// .eh_frame: four CIEs (one per encoding), an FDE after each, a zero-length entry between.
    static func ehFrame() -> [UInt8] {
        var out: [UInt8] = []
        func entry(_ body: [UInt8]) { out += le(UInt32(body.count)) + body }
        func cie(_ augmentation: String, _ data: [UInt8]) -> UInt64 {
            let at = UInt64(out.count)
            entry(le(UInt32(0)) + [1] + Array(augmentation.utf8) + [0, 1, 0x78, 16, UInt8(data.count)] + data)
            return at
        }
        /// An FDE naming the CIE at `cie`; `fields(address of pc_begin)` gives pc_begin, pc_range and the augmentation.
        func fde(_ cie: UInt64, _ fields: (UInt64) -> [UInt8]) {
            let pointer = UInt64(out.count) + 4
            entry(le(UInt32(pointer - cie)) + fields(frames + pointer + 4))
        }
        let absolute = cie("zR", [0x04])  // udata8
        fde(absolute) { _ in le(text) + le(UInt64(0x10)) + [0] }
        entry([])  // a zero-length entry: readelf and this reader step over it
        let pcrel = cie("zR", [0x1c])  // pcrel | sdata8
        fde(pcrel) { field in le(Int64(bitPattern: text + 0x10 &- field)) + le(Int64(0x10)) + [0] }
        let datarel = cie("zR", [0x3b])  // datarel | sdata4
        fde(datarel) { _ in le(Int32(truncatingIfNeeded: Int64(text + 0x20) - Int64(got))) + le(Int32(0x10)) + [0] }
        // P: indirect | pcrel | sdata4 personality; L: pcrel | sdata4 LSDA; R: udata4.
        let personalityField = frames + UInt64(out.count) + 19  // length, id, version, "zPLR\0", 3 fields, length, encoding
        let full = cie("zPLR", [0x9b] + le(Int32(truncatingIfNeeded: Int64(got + 8) - Int64(personalityField))) + [0x1b, 0x03])
        fde(full) { field in le(UInt32(text + 0x30)) + le(UInt32(0x10)) + [4] + le(Int32(truncatingIfNeeded: 0x404000 - Int64(field + 9))) }
        out += le(UInt32(0))  // the terminator
        return out
    }

    /// An ET_EXEC x86-64 file with .text, .eh_frame, .got (NOBITS) and .shstrtab, no segments.
    static func program(ehFrame: [UInt8]) -> [UInt8] {
        let names: [UInt8] = Array("\0.text\0.eh_frame\0.got\0.shstrtab\0".utf8)
        let textAt = 64, frameAt = textAt + 0x40, namesAt = frameAt + ehFrame.count, headersAt = (namesAt + names.count + 7) & ~7
        var out = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        out += le(UInt16(2)) + le(UInt16(62)) + le(UInt32(1)) + le(text) + le(UInt64(0)) + le(UInt64(headersAt))
        out += le(UInt32(0)) + le(UInt16(64)) + le(UInt16(56)) + le(UInt16(0)) + le(UInt16(64)) + le(UInt16(5)) + le(UInt16(4))
        out += [UInt8](repeating: 0xc3, count: 0x40) + ehFrame + names
        out += [UInt8](repeating: 0, count: headersAt - out.count)
        func header(_ name: Int, _ type: UInt32, _ flags: UInt64, _ address: UInt64, _ offset: Int, _ size: Int) {
            out += le(UInt32(name)) + le(type) + le(flags) + le(address) + le(UInt64(offset)) + le(UInt64(size))
            out += le(UInt32(0)) + le(UInt32(0)) + le(UInt64(1)) + le(UInt64(0))
        }
        out += [UInt8](repeating: 0, count: 64)
        header(1, 1, 0x6, text, textAt, 0x40)
        header(7, 1, 0x2, frames, frameAt, ehFrame.count)
        header(17, 8, 0x3, got, 0, 16)
        header(22, 3, 0, 0, namesAt, names.count)
        return out
    }

    @Test func everyPointerEncodingDecodesToTheFunctionItNames() throws {
        let elf = try ELFFile(copying: Self.program(ehFrame: Self.ehFrame()))
        let fdes = try elf.frameDescriptions()
        #expect(fdes.map(\.start) == [Self.text, Self.text + 0x10, Self.text + 0x20, Self.text + 0x30], "\(fdes)")
        #expect(fdes.allSatisfy { $0.size == 0x10 }, "\(fdes)")
        #expect(fdes.map(\.augmentation) == ["zR", "zR", "zR", "zPLR"])
        #expect(fdes.last?.lsda == 0x404000)
        let table = try elf.functionTable()
        #expect(table.functions.map(\.start) == fdes.map(\.start) && table.problems.isEmpty, "\(table.problems)")
    }

    @Test func anFDEWithAnUnknownEncodingIsReportedAndTheWalkGoesOn() throws {
        var frame = Self.ehFrame()
        // The first CIE's R encoding (byte 16: after length, id, version, "zR\0", alignments,
        // return register and augmentation length) becomes 0x0f, which no table defines.
        #expect(frame[16] == 0x04)
        frame[16] = 0x0f
        let table = try ELFFile(copying: Self.program(ehFrame: frame)).functionTable()
        #expect(table.problems.map(\.kind) == [PB_FRAME_BAD_ENTRY] && table.problems.first?.fde == 17, "\(table.problems)")
        #expect(table.functions.count == 3)
    }
}
