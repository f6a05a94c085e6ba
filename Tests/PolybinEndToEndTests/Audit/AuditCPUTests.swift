import CPolybin
import Foundation
import Testing
import PolybinTestSupport
@testable import PolybinKit

/// The CPU section of `polybin audit` (issue 19) on programs built for it: the level a build's
/// own code needs, the functions named, and dispatched code set aside by rule A (IFUNC) and
/// rule C (names), each rule with a program of its own.
@Suite struct AuditCPUTests {
    static let kernel = """
        #include <stdio.h>
        #include <string.h>
        __attribute__((noinline)) void scale(float *a, const float *b, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * b[i] + 1.0f; }
        __attribute__((noinline)) unsigned shifts(unsigned x, unsigned n) { return (x << n) | (x >> (n & 7)); }
        __attribute__((noinline)) long ones(unsigned long x) { return __builtin_popcountl(x); }
        __attribute__((noinline)) void widen(double *a, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * 3.0 + a[i] / 7.0; }
        int main(int argc, char **argv) {
            float a[256], b[256]; double d[512];
            for (int i = 0; i < 256; i++) { a[i] = i; b[i] = argc; }
            for (int i = 0; i < 512; i++) d[i] = i * argc;
            scale(a, b, 256); widen(d, 512);
            printf("%f %u %ld %f %zu\\n", a[10], shifts(argc, argc), ones(argc), d[7], strlen(argv[0]));
            return 0;
        }
        """

    static func build(_ name: String, _ source: String, _ flags: [String]) throws -> String {
        let dir = try TestEnvironment.temporaryDirectory("audit-cpu")
        let c = dir.appendingPathComponent("\(name).c")
        try source.write(to: c, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent(name).path
        try mustRun("gcc", (flags.contains { $0.hasPrefix("-O") } ? [] : ["-O2"]) + flags + ["-o", out, c.path])
        return out
    }

    static func cpu(_ path: String) throws -> AuditReport.CPU {
        try InstructionFixtures.requireZydis()
        return try #require(try Audit.report(path).builds.first?.cpu)
    }

    @Test func eachMarchLevelIsReportedAsThatLevel() throws {
        for (march, level) in [("x86-64", "x86-64"), ("x86-64-v2", "x86-64-v2"), ("x86-64-v3", "x86-64-v3"), ("x86-64-v4", "x86-64-v4")] {
            let cpu = try Self.cpu(try Self.build("k-\(march)", Self.kernel, ["-march=\(march)", "-mtune=generic"]))
            #expect(cpu.needs == level, "-march=\(march): \(cpu.needs) \(cpu.extensions.map(\.isa_set))")
            #expect(cpu.extra_features.isEmpty, "-march=\(march): \(cpu.extra_features)")
        }
    }

    @Test func aV3BuildNamesItsFunctionsPerExtension() throws {
        let cpu = try Self.cpu(try Self.build("k-v3", Self.kernel, ["-march=x86-64-v3"]))
        #expect(cpu.needs == "x86-64-v3")
        let functions = Dictionary(grouping: cpu.extensions.flatMap { e in e.functions.map { (e.isa_set, $0.function) } }, by: \.0).mapValues { $0.map(\.1) }
        #expect(functions["BMI2"]?.contains("shifts") == true, "\(functions)")
        #expect(functions["FMA"]?.contains("scale") == true || functions["FMA"]?.contains("widen") == true, "\(functions)")
        #expect(functions["POPCNT"]?.contains("ones") == true, "\(functions)")
        #expect(cpu.set_aside.isEmpty, "a dynamic program's own code has nothing dispatched: \(cpu.set_aside.map(\.function))")
        let text = AuditText.describe(try Audit.report(try Self.build("k-v3t", Self.kernel, ["-march=x86-64-v3"])))
        #expect(text.contains("cpu: needs x86-64-v3") && text.contains("shifts:"), "\(text)")
    }

    @Test func aStrippedBuildNamesFunctionsByAddressAndFDE() throws {
        let cpu = try Self.cpu(try Self.build("k-v3s", Self.kernel, ["-march=x86-64-v3", "-s"]))
        #expect(cpu.needs == "x86-64-v3")
        let bmi2 = try #require(cpu.extensions.first { $0.isa_set == "BMI2" })
        #expect(bmi2.functions.allSatisfy { $0.function.hasPrefix("0x") && $0.function.contains("(FDE 0x") }, "\(bmi2.functions.map(\.function))")
    }

    /// A correct static glibc baseline program: thousands of AVX, AVX2 and AVX-512
    /// instructions in glibc's IFUNC-dispatched string functions, none in its own code.
    @Test func aStaticGlibcBaselineProgramIsBaselineWithRuleASettingAsideAVX512() throws {
        let cpu = try Self.cpu(try Self.build("static", Self.kernel, ["-static", "-march=x86-64"]))
        #expect(cpu.needs == "x86-64" && cpu.extra_features.isEmpty, "\(cpu.needs) \(cpu.extra_features) \(cpu.extensions.map { "\($0.isa_set): \($0.functions.map(\.function))" })")
        #expect(cpu.all_code_needs == "x86-64-v4", "dispatched code included, it needs AVX-512: \(cpu.all_code_needs)")
        // glibc's string functions are IFUNC-dispatched (rule A); _dl_runtime_profile_avx512 is
        // chosen through a table at start-up, and only its name explains it (rule C).
        let avx512 = cpu.set_aside.filter { $0.isa_sets.keys.contains { $0.hasPrefix("AVX512") } }
        let strings = avx512.filter { $0.function.hasPrefix("__mem") || $0.function.hasPrefix("__str") }
        #expect(strings.count > 10 && strings.allSatisfy { $0.rule == .ifunc }, "\(avx512.map { "\($0.function) \($0.rule)" })")
        #expect(avx512.filter { $0.rule == .symbolName }.allSatisfy { $0.function.hasPrefix("_dl_runtime_") }, "\(avx512.map { "\($0.function) \($0.rule)" })")
        #expect(avx512.contains { $0.function.hasPrefix("__memmove_avx512") || $0.function.hasPrefix("__memcpy_avx512") })
        #expect(cpu.set_aside.contains { $0.rule == .ifunc && $0.reason.hasPrefix("returned by the IFUNC resolver") })
    }

    /// Rule A also covers GCC's target_clones (an IFUNC of the program's own).
    @Test func targetClonesAreSetAsideByRuleA() throws {
        let source = """
            #include <stdio.h>
            __attribute__((target_clones("avx2", "default"), noinline)) void add(int *a, const int *b, int n) { for (int i = 0; i < n; i++) a[i] += b[i] * 3; }
            int main(int c, char **v) { int a[1024], b[1024]; for (int i = 0; i < 1024; i++) { a[i] = i; b[i] = c; } add(a, b, 1024); printf("%d\\n", a[99]); return 0; }
            """
        let cpu = try Self.cpu(try Self.build("clones", source, ["-O3", "-march=x86-64"]))
        #expect(cpu.needs == "x86-64", "\(cpu.extensions.map { "\($0.isa_set): \($0.functions.map(\.function))" })")
        let clone = try #require(cpu.set_aside.first { $0.function.hasPrefix("add.avx2") }, "\(cpu.set_aside.map(\.function))")
        #expect(clone.rule == .ifunc, "\(clone)")
    }

    /// Rule C: a function a CPUID check guards, named for its extension (zstd's `*_bmi2`).
    @Test func manualDispatchNamedForItsExtensionIsSetAsideByRuleC() throws {
        let source = """
            #include <stdio.h>
            __attribute__((target("avx2,bmi2"), noinline)) static unsigned sum_avx2(const unsigned *a, int n, unsigned s) { unsigned t = 0; for (int i = 0; i < n; i++) t += a[i] << (s & 7); return t; }
            __attribute__((noinline)) static unsigned sum_plain(const unsigned *a, int n, unsigned s) { unsigned t = 0; for (int i = 0; i < n; i++) t += a[i] << (s & 7); return t; }
            int main(int c, char **v) {
                unsigned a[1000]; for (int i = 0; i < 1000; i++) a[i] = i * c;
                unsigned t = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi2") ? sum_avx2(a, 1000, c) : sum_plain(a, 1000, c);
                printf("%u\\n", t); return 0;
            }
            """
        let cpu = try Self.cpu(try Self.build("manual", source, ["-O3", "-march=x86-64"]))
        #expect(cpu.needs == "x86-64", "\(cpu.extensions.map { "\($0.isa_set): \($0.functions.map(\.function))" })")
        let aside = try #require(cpu.set_aside.first { $0.function.hasPrefix("sum_avx2") }, "\(cpu.set_aside.map(\.function))")
        #expect(aside.rule == .symbolName && aside.reason.contains("avx2"))
        // The same code under a name that says nothing is the program's own: v3.
        let renamed = try Self.cpu(try Self.build("manual-renamed", source.replacingOccurrences(of: "sum_avx2", with: "sum_fast"), ["-O3", "-march=x86-64"]))
        #expect(renamed.needs == "x86-64-v3" && renamed.extensions.contains { $0.functions.contains { $0.function.hasPrefix("sum_fast") } })
    }

    @Test func tzcntCountsAtNoLevelAndLzcntAlwaysCounts() throws {
        let source = """
            #include <stdio.h>
            __attribute__((noinline)) int trailing(unsigned long x) { return __builtin_ctzl(x); }
            __attribute__((noinline)) int leading(unsigned long x) { return __builtin_clzl(x); }
            int main(int c, char **v) { printf("%d %d\\n", trailing(c), leading(c)); return 0; }
            """
        let tz = try Self.cpu(try Self.build("tzcnt", source.replacingOccurrences(of: "__builtin_clzl(x)", with: "0"), ["-mbmi"]))
        let objdump = try mustRun("objdump", ["-d", try Self.build("tzcnt-d", source.replacingOccurrences(of: "__builtin_clzl(x)", with: "0"), ["-mbmi"])]).out
        #expect(objdump.contains("tzcnt"), "gcc -mbmi emits tzcnt for ctz")
        #expect(tz.needs == "x86-64", "\(tz.extensions.map(\.isa_set))")
        let lz = try Self.cpu(try Self.build("lzcnt", source, ["-mlzcnt"]))
        #expect(lz.needs == "x86-64-v3" && lz.lzcnt_functions == ["leading"], "\(lz.needs) \(lz.lzcnt_functions)")
    }

    /// aarch64: LLVM's decoder gated by each level's features finds SVE code in a build for an
    /// older level, names dotprod, and sets GCC's outline atomics (LSE behind a check) aside.
    @Test func aarch64LevelsComeFromFeatureGatedDecoding() throws {
        var why: UnsafePointer<CChar>?
        try #require(pb_a64_disasm_available(&why) == 1, "\(why.map { String(cString: $0) } ?? ""): tools/bootstrap installs libllvm14")
        let source = """
            #include <stdio.h>
            __attribute__((noinline)) void scale(float *a, const float *b, int n) { for (int i = 0; i < n; i++) a[i] = a[i] * b[i] + 1.0f; }
            __attribute__((noinline)) int dot(const signed char *a, const signed char *b, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i] * b[i]; return s; }
            int counter;
            int main(int argc, char **argv) {
                float a[256], b[256]; signed char c[256];
                for (int i = 0; i < 256; i++) { a[i] = i; b[i] = argc; c[i] = i; }
                scale(a, b, 256);
                __atomic_fetch_add(&counter, argc, __ATOMIC_SEQ_CST);
                printf("%f %d %d\\n", a[3], dot(c, c, 256), counter);
                return 0;
            }
            """
        let dir = try TestEnvironment.temporaryDirectory("audit-a64")
        let c = dir.appendingPathComponent("k.c")
        try source.write(to: c, atomically: true, encoding: .utf8)
        func audit(_ march: String) throws -> AuditReport.CPU {
            let out = dir.appendingPathComponent(march).path
            try mustRun(ArmFixture.gcc, ["-O3", "-march=\(march)", "-o", out, c.path])
            return try #require(try Audit.report(out).builds.first?.cpu)
        }
        let base = try audit("armv8-a")
        #expect(base.needs == "armv8-a" && base.extra_features.isEmpty, "\(base.needs) \(base.extensions.map(\.isa_set))")
        #expect(base.set_aside.contains { $0.function.hasPrefix("__aarch64_ldadd4") && $0.rule == .symbolName }, "\(base.set_aside.map(\.function))")
        let sve = try audit("armv8.2-a+sve")
        #expect(sve.needs == "armv8.4-a+sve", "\(sve.needs)")
        let sveFunctions = sve.extensions.first { $0.isa_set == "armv8.4-a+sve" }?.functions.map(\.function) ?? []
        #expect(sveFunctions.contains("scale") && sveFunctions.contains("dot"), "\(sveFunctions)")
        let dotprod = try audit("armv8.2-a+dotprod")
        #expect(dotprod.needs == "armv8.2-a+dotprod+fp16", "\(dotprod.needs)")
        #expect(dotprod.extensions.first?.functions.contains { $0.function == "dot" && $0.sample?.hasPrefix("sdot") == true } == true,
                "\(dotprod.extensions.map { $0.functions.map { "\($0.function) \($0.sample ?? "")" } })")
    }

    @Test func theTableNamesLevelsThroughTheFeatureModel() {
        #expect(ISATable.level(of: ["sse4.2", "popcnt"]) == (2, []))
        #expect(ISATable.level(of: ["avx2", "aes"]) == (3, ["aes"]))
        #expect(ISATable.level(of: ["avx512f", "avx512vl"]) == (4, []))
        #expect(ISATable.level(of: ["rtm"]) == (1, ["rtm"]))
        #expect(ISATable.requirement(isaSet: "BMI1", mnemonic: "tzcnt").isEmpty)
        #expect(ISATable.requirement(isaSet: "XSAVE", mnemonic: "xgetbv").isEmpty)
        #expect(ISATable.requirement(isaSet: "LZCNT", mnemonic: "lzcnt") == ["lzcnt"])
        #expect(ISATable.requirement(isaSet: "CET", mnemonic: "endbr64").isEmpty)
        #expect(ISATable.requirement(isaSet: "AVX512BW_256", mnemonic: "vpcmpeqb") == ["avx512bw", "avx512f", "avx512vl"])
        #expect(DispatchRules.extensionWord(in: "__memmove_avx_unaligned_erms") == "avx")
        #expect(DispatchRules.extensionWord(in: "FSE_decompress_wksp_bmi2") == "bmi2")
        #expect(DispatchRules.extensionWord(in: "add.arch_x86_64_v3.0") == "arch_x86_64_v3")
        #expect(DispatchRules.extensionWord(in: "avx_fill") == nil && DispatchRules.extensionWord(in: "main") == nil)
    }
}
