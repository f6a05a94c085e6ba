import CPolybin
import Foundation
import Testing
import PolybinTestSupport

/// Label normalisation (pb_delta.h, issue 18): every build of real programs, on both
/// architectures, comes back byte for byte from its normalised form and side block; builds LN
/// does not understand are still exact or refused; hostile side blocks and normalised builds
/// are refused without a write outside the output, which ends at a guard page.
@Suite struct LabelNormalisationTests {
    // MARK: the C calls

    struct Normalised {
        var status: pb_delta_status
        var bytes: [UInt8]
        var side: [UInt8]
        var stats: pb_delta_stats
        var reason: String
    }

    static func normalise(_ build: [UInt8], against reference: [UInt8]?) -> Normalised {
        var out = [UInt8](repeating: 0, count: build.count)
        var side: UnsafeMutablePointer<UInt8>?
        var sideSize = 0
        var stats = pb_delta_stats()
        let reasonSize = 200
        var reason = [CChar](repeating: 0, count: reasonSize)
        let status = build.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                guard let reference else {
                    return pb_delta_normalise(b.baseAddress, b.count, nil, 0, o.baseAddress, &side, &sideSize, &stats, &reason, reasonSize)
                }
                return reference.withUnsafeBufferPointer { r in
                    pb_delta_normalise(b.baseAddress, b.count, r.baseAddress, r.count, o.baseAddress, &side, &sideSize, &stats, &reason, reasonSize)
                }
            }
        }
        let sideBytes = side.map { Array(UnsafeBufferPointer(start: $0, count: sideSize)) } ?? []
        free(side)
        return Normalised(status: status, bytes: out, side: sideBytes, stats: stats, reason: String(cString: reason))
    }

    /// Denormalises into an output of `capacity` bytes (default: the build's size) that ends at
    /// a PROT_NONE page, so a write past it kills the test run.
    static func denormalise(_ normalised: [UInt8], side: [UInt8], referenceSide: [UInt8]?, capacity: Int? = nil)
        -> (status: pb_delta_status, bytes: [UInt8]) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let capacity = capacity ?? normalised.count
        let pages = (capacity + page - 1) / page + 1
        guard let map = mmap(nil, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), map != MAP_FAILED else {
            Issue.record("mmap failed")
            return (PB_DELTA_E_MEMORY, [])
        }
        defer { munmap(map, pages * page) }
        let guardPage = map + (pages - 1) * page
        #expect(mprotect(guardPage, page, PROT_NONE) == 0)
        let out = (guardPage - capacity).assumingMemoryBound(to: UInt8.self)
        let status = normalised.withUnsafeBufferPointer { n in
            side.withUnsafeBufferPointer { s in
                guard let referenceSide else {
                    return pb_delta_denormalise(n.baseAddress, n.count, s.baseAddress, s.count, nil, 0, out, capacity, nil, 0)
                }
                return referenceSide.withUnsafeBufferPointer { r in
                    pb_delta_denormalise(n.baseAddress, n.count, s.baseAddress, s.count, r.baseAddress, r.count, out, capacity, nil, 0)
                }
            }
        }
        return (status, Array(UnsafeBufferPointer(start: out, count: min(capacity, normalised.count))))
    }

    /// Normalises `build` against `base` (the base against itself first) and rebuilds it.
    /// Returns the build's statistics when the round trip is exact.
    @discardableResult
    static func roundTrip(_ build: [UInt8], base: [UInt8]?, _ label: String) -> pb_delta_stats? {
        var baseSide: [UInt8]?
        if let base {
            let b = normalise(base, against: nil)
            #expect(b.status == PB_DELTA_OK, "\(label): the base: \(b.reason)")
            guard b.status == PB_DELTA_OK else { return nil }
            baseSide = b.side
        }
        let t = normalise(build, against: base)
        #expect(t.status == PB_DELTA_OK, "\(label): \(t.reason)")
        guard t.status == PB_DELTA_OK else { return nil }
        let back = denormalise(t.bytes, side: t.side, referenceSide: baseSide)
        #expect(back.status == PB_DELTA_OK, "\(label): the denormaliser refused its own side block")
        #expect(back.bytes == build, "\(label): the rebuilt build differs")
        return back.bytes == build ? t.stats : nil
    }

    // MARK: fixtures

    static let fixtures = TestEnvironment.root.appendingPathComponent("Tests/Fixtures")

    static func compile(_ compiler: String, _ arguments: [String], _ name: String) throws -> [UInt8] {
        let dir = try TestEnvironment.temporaryDirectory("polybin-ln")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(name).path
        let result = try run(compiler, arguments + ["-o", out])
        guard result.status == 0 else { throw FixtureError("\(compiler) \(arguments.joined(separator: " ")): \(result.err)") }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    static func levels(_ compiler: String, _ source: String, _ levels: [String], _ extra: [String]) throws -> [(String, [UInt8])] {
        try levels.map { level in
            (level, try compile(compiler, ["-O2", "-march=\(level)"] + extra + [fixtures.appendingPathComponent(source).path, "-lm"], level))
        }
    }

    /// Every level against the first, which is normalised against itself.
    static func checkLevels(_ builds: [(String, [UInt8])], _ label: String) {
        let base = builds[0].1
        #expect(roundTrip(base, base: nil, "\(label) \(builds[0].0) alone") != nil)
        for (level, build) in builds {
            guard let stats = roundTrip(build, base: base, "\(label) \(level)") else { continue }
            #expect(stats.fields > 50, "\(label) \(level): only \(stats.fields) fields found")
            // A level may lose a clone or two (a .cold part, a constprop twin): then most still match.
            #expect(stats.matched * 10 >= stats.functions * 9, "\(label) \(level): \(stats.matched) of \(stats.functions) functions matched")
            #expect(stats.escapes * 20 < stats.fields, "\(label) \(level): \(stats.escapes) of \(stats.fields) fields escaped")
        }
    }

    // MARK: real programs

    @Test(arguments: [["-fPIE", "-pie"], ["-fno-PIE", "-no-pie"], ["-static"]])
    func everyX86LevelOfAMediumProgramComesBackExactly(link: [String]) throws {
        let builds = try Self.levels("gcc", "ln-medium.c", ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"], link)
        Self.checkLevels(builds, "ln-medium.c \(link.joined(separator: " "))")
    }

    @Test(arguments: [["-fPIE", "-pie"], ["-static"]])
    func everyAarch64LevelComesBackExactly(link: [String]) throws {
        let builds = try Self.levels("aarch64-linux-gnu-gcc", "ln-medium.c",
                                     ["armv8-a", "armv8.2-a+dotprod+fp16", "armv8.4-a+sve", "armv9-a+sve2"], link)
        Self.checkLevels(builds, "aarch64 ln-medium.c \(link.joined(separator: " "))")
    }

    @Test func aCxxProgramWithExceptionsComesBackExactly() throws {
        let builds = try ["x86-64", "x86-64-v3"].map { level in
            (level, try Self.compile("g++", ["-O2", "-march=\(level)", Self.fixtures.appendingPathComponent("ln-exceptions.cpp").path], level))
        }
        Self.checkLevels(builds, "ln-exceptions.cpp")
    }

    @Test func aRustProgramComesBackExactly() throws {
        // rustc is optional on a development machine (tools/bootstrap does not install it).
        guard let rustc = try? shell("command -v rustc").out.trimmingCharacters(in: .whitespacesAndNewlines), !rustc.isEmpty else { return }
        let builds = try ["x86-64", "x86-64-v3"].map { level in
            (level, try Self.compile(rustc, ["-O", "-C", "target-cpu=\(level)", "-C", "strip=symbols",
                                             Self.fixtures.appendingPathComponent("ln-rust.rs").path], level))
        }
        Self.checkLevels(builds, "ln-rust.rs")
    }

    /// Programs of this machine, against themselves both ways: alone (labels are their own
    /// addresses) and with themselves as the reference (every function matched to itself).
    @Test func installedProgramsComeBackExactly() throws {
        for path in ["/usr/bin/ls", "/usr/bin/bash", "/usr/bin/zstd", "/usr/bin/git"] where FileManager.default.fileExists(atPath: path) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let alone = Self.roundTrip(bytes, base: nil, path)
            #expect((alone?.fields ?? 0) > 1000, "\(path): \(alone?.fields ?? 0) fields")
            Self.roundTrip(bytes, base: bytes, "\(path) against itself")
        }
    }

    /// Without `.eh_frame`, each executable section is one function: still exact.
    @Test func buildsWithoutFramesComeBackExactly() throws {
        let dir = try TestEnvironment.temporaryDirectory("polybin-ln")
        defer { try? FileManager.default.removeItem(at: dir) }
        var builds: [(String, [UInt8])] = []
        for level in ["x86-64", "x86-64-v3"] {
            let out = dir.appendingPathComponent(level).path
            let source = Self.fixtures.appendingPathComponent("ln-medium.c").path
            let built = try shell("gcc -O2 -march=\(level) -fno-asynchronous-unwind-tables -fno-unwind-tables '\(source)' -lm -o '\(out)' && objcopy --remove-section=.eh_frame --remove-section=.eh_frame_hdr '\(out)'")
            try #require(built.status == 0, "\(built.err)")
            builds.append((level, [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))))
        }
        let stats = Self.roundTrip(builds[1].1, base: builds[0].1, "no .eh_frame")
        #expect((stats?.functions ?? 0) >= 1 && (stats?.functions ?? 99) <= 8,
                "\(String(describing: stats)): not one function per executable section (.init, .plt*, .text, .fini)")
    }

    // MARK: builds that lie

    /// pc_begin (pcrel sdata4, 8 bytes into each FDE) and pc_range of every FDE, as file offsets.
    static func frameFields(_ bytes: [UInt8]) -> [Int] {
        var positions: [Int] = []
        bytes.withUnsafeBytes { raw in
            var elf = pb_elf(), section = pb_elf_section(), frames = pb_elf_frames(), fde = pb_elf_fde()
            guard pb_elf_open(&elf, raw.baseAddress, UInt64(raw.count), 0) == PB_ELF_OK,
                  pb_elf_section_named(&elf, ".eh_frame", &section) == PB_ELF_OK,
                  pb_elf_frames_open(&elf, &frames) == PB_ELF_OK else { return }
            while pb_elf_frames_next(&elf, &frames, &fde) == PB_ELF_OK {
                if fde.cie.fde_encoding == 0x1B { positions.append(Int(section.offset + fde.offset + 8)) }
            }
        }
        return positions
    }

    static func add(_ bytes: inout [UInt8], at: Int, _ value: Int32) {
        var word = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        word = word &+ UInt32(bitPattern: value)
        for k in 0..<4 { bytes[at + k] = UInt8(truncatingIfNeeded: word >> (8 * k)) }
    }

    /// FDEs that start functions mid-instruction, stretch over their neighbours or cover
    /// nothing: the normaliser either proves an exact round trip or refuses.
    @Test func aBuildWhoseFramesLieComesBackExactlyOrIsRefused() throws {
        let clean = try Self.compile("gcc", ["-O2", Self.fixtures.appendingPathComponent("ln-medium.c").path, "-lm"], "clean")
        let fields = Self.frameFields(clean)
        try #require(fields.count > 10, "ln-medium.c has \(fields.count) FDEs")
        var exact = 0
        for variant in 0..<4 {
            var lying = clean
            for (i, at) in fields.enumerated() {
                switch variant {
                case 0: Self.add(&lying, at: at, Int32(1 + i % 7))                  // mid-instruction starts
                case 1: Self.add(&lying, at: at + 4, Int32(64 + 16 * i))             // ranges over the next ones
                case 2: Self.add(&lying, at: at, Int32(-3)); Self.add(&lying, at: at + 4, 4096)
                default: Self.add(&lying, at: at, Int32(0x10_0000 * (i % 2)))     // some outside the code
                }
            }
            for reference in [nil, clean] {
                let n = Self.normalise(lying, against: reference)
                #expect(n.status == PB_DELTA_OK || n.status == PB_DELTA_E_MISMATCH, "variant \(variant): \(n.reason)")
                guard n.status == PB_DELTA_OK else { continue }
                var referenceSide: [UInt8]?
                if reference != nil { referenceSide = Self.normalise(clean, against: nil).side }
                let back = Self.denormalise(n.bytes, side: n.side, referenceSide: referenceSide)
                #expect(back.status == PB_DELTA_OK && back.bytes == lying, "variant \(variant): the round trip differs")
                exact += 1
            }
        }
        #expect(exact > 0, "every lying variant was refused")
    }

    // MARK: hostile side blocks and normalised builds

    struct Case {
        var normalised: [UInt8], side: [UInt8], referenceSide: [UInt8], build: [UInt8]
    }

    static let hostileCase: Case = {
        let base = try! compile("gcc", ["-O2", "-march=x86-64", fixtures.appendingPathComponent("ln-medium.c").path, "-lm"], "base")
        let build = try! compile("gcc", ["-O2", "-march=x86-64-v3", fixtures.appendingPathComponent("ln-medium.c").path, "-lm"], "v3")
        let b = normalise(base, against: nil), t = normalise(build, against: base)
        return Case(normalised: t.bytes, side: t.side, referenceSide: b.side, build: build)
    }()

    @Test func truncatedSideBlocksAreRefused() throws {
        let c = Self.hostileCase
        try #require(c.side.count > 8)
        for cut in 0..<c.side.count {
            let status = Self.denormalise(c.normalised, side: Array(c.side[..<cut]), referenceSide: c.referenceSide).status
            #expect(status == PB_DELTA_E_CORRUPT, "a side block cut at \(cut) of \(c.side.count) bytes was accepted")
        }
        for cut in 0..<c.referenceSide.count {
            let status = Self.denormalise(c.normalised, side: c.side, referenceSide: Array(c.referenceSide[..<cut])).status
            #expect(status == PB_DELTA_E_CORRUPT, "a reference side block cut at \(cut) was accepted")
        }
        #expect(Self.denormalise(c.normalised, side: c.side, referenceSide: nil).status == PB_DELTA_E_CORRUPT,
                "a side block made against a reference was accepted without it")
        #expect(Self.denormalise(c.normalised, side: c.side, referenceSide: c.referenceSide, capacity: c.normalised.count - 1).status
                == PB_DELTA_E_ARGUMENT)
    }

    /// Lying counts and indexes: a huge function, run or escape count, an escape past the
    /// last field, a match index past R's table. Each is refused.
    @Test func sideBlocksWithLyingCountsAreRefused() throws {
        let c = Self.hostileCase
        let hugeVarint: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        // After the 6-byte header: field count, function count.
        var hugeFunctions = Array(c.side[..<6])
        var reader = 6
        func skipVarint(_ bytes: [UInt8], _ at: inout Int) { while bytes[at] & 0x80 != 0 { at += 1 }; at += 1 }
        skipVarint(c.side, &reader)
        hugeFunctions += c.side[6..<reader] + hugeVarint
        var after = reader
        skipVarint(c.side, &after)
        hugeFunctions += c.side[after...]
        let hugeFields = Array(c.side[..<6]) + hugeVarint + c.side[reader...]
        let extraByte = c.side + [0]
        // The last escape gap (or the escape count) made huge.
        let escapePastEnd = Array(c.side.dropLast()) + [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        var wrongMagic = c.side
        wrongMagic[0] ^= 0xFF
        var otherMachine = c.side
        otherMachine[4] = 2
        for (name, side) in [("function count", hugeFunctions), ("field count", hugeFields), ("a byte too many", extraByte),
                             ("an escape past the end", escapePastEnd), ("magic", wrongMagic), ("machine", otherMachine)] {
            let back = Self.denormalise(c.normalised, side: side, referenceSide: c.referenceSide)
            #expect(back.status == PB_DELTA_E_CORRUPT || (back.status == PB_DELTA_OK && back.bytes != c.build),
                    "\(name): \(back.status)")
            #expect(back.status != PB_DELTA_OK, "\(name): accepted")
        }
    }

    /// Random damage to the side blocks and the normalised build: whatever the answer, nothing
    /// is written outside the output (the guard page), and an intact input still comes back.
    @Test func damagedInputsNeverWriteOutsideTheOutput() throws {
        let c = Self.hostileCase
        var random = SplitMix(seed: 0x1AB3_11ED)
        for trial in 0..<600 {
            var side = c.side, referenceSide = c.referenceSide, normalised = c.normalised
            for _ in 0..<(1 + random.next() % 4) {
                let value = UInt8(truncatingIfNeeded: random.next())
                switch trial % 3 {
                case 0: side[Int(random.next() % UInt64(side.count))] = value
                case 1: referenceSide[Int(random.next() % UInt64(referenceSide.count))] = value
                default: normalised[Int(random.next() % UInt64(normalised.count))] = value
                }
            }
            _ = Self.denormalise(normalised, side: side, referenceSide: referenceSide)
        }
        let back = Self.denormalise(c.normalised, side: c.side, referenceSide: c.referenceSide)
        #expect(back.status == PB_DELTA_OK && back.bytes == c.build)
    }
}
