import Foundation
import PolybinKit
import Testing
import PolybinTestSupport

/// Issue 9, item 3: a cold launch holds one copy. Peak RSS of the runner and the build it
/// becomes, for every strategy from a cold start, stays within the build plus its reference
/// plus 16 MiB: the runner decodes straight into the destination and keeps nothing else.
/// Memory, not time: the peak is what wait4 reports for the fatbin's process (runner and
/// build, which the exec carries over), measured by a small C parent so that nothing of the
/// test process is counted.
@Suite struct ColdLaunchMemoryTests {
    static let megabytes = 24

    static let parent = """
        #include <stdio.h>
        #include <sys/resource.h>
        #include <sys/wait.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            pid_t pid = fork();
            if (pid == 0) { execv(argv[1], argv + 1); _exit(127); }
            int status; struct rusage usage;
            if (pid < 0 || wait4(pid, &status, 0, &usage) != pid) return 126;
            fprintf(stderr, "maxrss_kb=%ld\\n", usage.ru_maxrss);
            return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
        }
        """

    /// The build reads every byte of its data, so the build's own pages count in full.
    static let program = """
        #include <stdio.h>
        __asm__(".section .rodata.data,\\"a\\"\\n.balign 4096\\n.globl data_start\\ndata_start:\\n"
                ".incbin \\"data.bin\\"\\n.globl data_end\\ndata_end:\\n.previous\\n");
        extern const unsigned char data_start[], data_end[];
        int main(void) {
            unsigned long sum = 0;
            for (const unsigned char *p = data_start; p < data_end; p++) sum += *p;
            printf("ok %lu %ld\\n", sum, (long)(data_end - data_start));
            return 0;
        }
        """

    /// Text-like bytes (words of a small vocabulary): they compress about 3:1, as programs do,
    /// so the mapped frames the runner reads are a fraction of the build.
    static func data(_ count: Int, seed: UInt64) -> [UInt8] {
        let words = ["mov", "call", "ret", "push", "rax", "rbx", "lea", "jmp", "cmp", "add", "0x1f", "[rsp+8]",
                     "qword", "xor", "test", "jne", "nop", "sub", "and", "imul"].map { Array($0.utf8) }
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var out: [UInt8] = []
        out.reserveCapacity(count + 16)
        while out.count < count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            out += words[Int(state % UInt64(words.count))]
            out.append(state & 0x300 == 0 ? 0x0A : 0x20)
        }
        return Array(out.prefix(count))
    }

    /// Compiles `parent` into `dir` and returns its path: it runs a command and reports the
    /// command's peak RSS as `maxrss_kb=` on stderr (peakKiB reads it).
    static func buildParent(in dir: URL) throws -> String {
        try parent.write(to: dir.appendingPathComponent("parent.c"), atomically: true, encoding: .utf8)
        #expect(try run("cc", ["-O2", "-o", "parent", "parent.c"], cwd: dir).status == 0)
        return dir.appendingPathComponent("parent").path
    }

    static func peakKiB(_ result: ProcessResult) -> Int? {
        result.err.split(separator: "\n").last { $0.hasPrefix("maxrss_kb=") }.flatMap { Int($0.dropFirst(10)) }
    }

    @Test func coldLaunchPeakIsAtMostBuildPlusReferencePlus16MiB() throws {
        guard TestEnvironment.require("cc", install: "apt-get install gcc") else { return }
        let dir = try TestEnvironment.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let parent = try Self.buildParent(in: dir)
        try Self.program.write(to: dir.appendingPathComponent("program.c"), atomically: true, encoding: .utf8)
        // The reference (baseline) and a delta against it (v2, which every x86-64 host in use runs).
        var base = Self.data(Self.megabytes << 20, seed: 1)
        try Data(base).write(to: dir.appendingPathComponent("data.bin"))
        #expect(try run("cc", ["-O2", "-march=x86-64", "-o", "v1", "program.c"], cwd: dir).status == 0)
        for i in stride(from: 777, to: base.count, by: 8192) { base[i] = 0x2E }
        try Data(base).write(to: dir.appendingPathComponent("data.bin"))
        #expect(try run("cc", ["-O2", "-march=x86-64-v2", "-o", "v2", "program.c"], cwd: dir).status == 0)
        let built = try run(TestEnvironment.polybin, ["build", "--level", "3", "--reference", "x86-64",
                                                      "--flavor", "x86-64=\(dir.path)/v1", "--flavor", "x86-64-v2=\(dir.path)/v2",
                                                      "-o", "\(dir.path)/fatbin"])
        #expect(built.status == 0, "\(built.err)")
        let direct = try run("\(dir.path)/v2")
        let sizes = try ["v1", "v2"].map { try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent($0).path)[.size] as! Int }
        let budgetKiB = (sizes[0] + sizes[1]) / 1024 + 16 * 1024

        for strategy in ["memfd", "tmpfile", "cache"] {
            let scratch = dir.appendingPathComponent("cold-\(strategy)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            let result = try run(parent, ["\(dir.path)/fatbin"], environment: [
                "POLYBIN_EXEC": strategy, "POLYBIN_FLAVOR": "x86-64-v2", "POLYBIN_CACHE_DIR": scratch.path, "TMPDIR": scratch.path,
            ])
            #expect(result.status == 0 && result.out == direct.out, "\(strategy): \(result.err)")
            let peak = try #require(Self.peakKiB(result), "\(strategy): \(result.err)")
            #expect(peak <= budgetKiB, "\(strategy): cold launch peaked at \(peak / 1024) MiB, budget \(budgetKiB / 1024) MiB")
            // The measurement sees the build's pages: a peak below one build would measure nothing.
            #expect(peak >= sizes[1] / 1024, "\(strategy): \(peak) KiB is less than the build itself")
        }
    }
}
