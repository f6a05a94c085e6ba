import Foundation
import Glibc
import Testing
import PolybinTestSupport

/// A binfmt_misc handler that runs aarch64 ELF executables with qemu-aarch64, registered by
/// a test for the time of its body and removed after it: Debian's magic and mask
/// (qemu-user-binfmt's /usr/lib/binfmt.d/qemu-aarch64.conf), under a name of this test
/// process (a killed test process's handler is removed by the next test). The kernel tries the newest handler first, so one already registered on the
/// machine is left alone and does not decide. binfmt_misc is mounted (and unmounted after)
/// when it is not; where the kernel refuses all this, `with` records a failure saying why
/// and returns nil.
enum ArmBinfmt {
    static let directory = "/proc/sys/fs/binfmt_misc"
    static let magic = #"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"#
    static let mask = #"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"#
    static let name = "polybin-test-aarch64-\(getpid())"
    /// One handler at a time in this process: the registration is machine-wide.
    private static let lock = NSLock()

    /// Runs `body` with the handler registered with `flags` (binfmt_misc's: P preserves
    /// argv[0], O has the kernel open the binary for the interpreter, F opens the interpreter
    /// at registration). `interpreter` nil: qemu-aarch64, named `*-binfmt-P` when P is given
    /// (how qemu knows to take argv[0] from the next argument).
    static func with<T>(flags: String, interpreter: String? = nil, _ body: () throws -> T) throws -> T? {
        lock.lock()
        defer { lock.unlock() }
        var mounted = false
        if !FileManager.default.fileExists(atPath: directory + "/register") {
            let mount = try run("mount", ["-t", "binfmt_misc", "binfmt_misc", directory])
            guard mount.status == 0 else { return refused("mount -t binfmt_misc: \(mount.err)") }
            mounted = true
        }
        defer { if mounted { _ = try? run("umount", [directory]) } }
        let status = (try? String(contentsOfFile: directory + "/status", encoding: .utf8)) ?? ""
        if status.hasPrefix("disabled") { try write("1", to: directory + "/status") }
        defer { if status.hasPrefix("disabled") { try? write("0", to: directory + "/status") } }

        // A test process killed before its `defer` left its handler behind: remove those.
        for stale in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where stale.hasPrefix("polybin-test-aarch64-") {
            if let pid = Int32(stale.dropFirst("polybin-test-aarch64-".count)), kill(pid, 0) != 0 && errno == ESRCH {
                try? write("-1", to: directory + "/" + stale)
            }
        }
        let program = try interpreter ?? qemu(preservingArgv0: flags.contains("P"))
        let entry = directory + "/" + name
        if FileManager.default.fileExists(atPath: entry) { try write("-1", to: entry) }
        do {
            try write(":\(name):M::\(magic):\(mask):\(program):\(flags)", to: directory + "/register")
        } catch {
            return refused("registering a handler: \(error)")
        }
        defer { try? write("-1", to: entry) }
        return try body()
    }

    /// The handler's own description, as the kernel reads it back.
    static var registered: String { (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? "" }

    private static func qemu(preservingArgv0: Bool) throws -> String {
        guard let real = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":")
            .map({ "\($0)/qemu-aarch64" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw FixtureError("no qemu-aarch64 (tools/bootstrap installs qemu-user)")
        }
        let link = try ArmFixture.get().dir.appendingPathComponent(preservingArgv0 ? "aarch64-binfmt-P" : "qemu-aarch64").path
        if !FileManager.default.fileExists(atPath: link) {
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        }
        return link
    }

    private static func write(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw FixtureError("open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let n = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard n == text.utf8.count else { throw FixtureError("write \(path): \(String(cString: strerror(errno)))") }
    }

    /// A refusal fails the test, never skips it: on this machine kind, as root, the kernel
    /// takes the handler (`tools/test` runs as root).
    private static func refused<T>(_ why: String) -> T? {
        Issue.record("the kernel refuses a binfmt_misc handler here (run the tests as root): \(why)")
        return nil
    }
}
