import Foundation
import Testing
import PolybinTestSupport

/// TESTING.md, "Exec strategies in hostile places": seccomp filters, vm.memfd_noexec=2,
/// noexec mounts everywhere, no usable home; and the no-memfd mode security tools accept.
@Suite struct ExecStrategyTests {
    /// Seccomp rules (seccomp-exec options) and whether memfd can still work under them.
    static let filters: [(rules: [String], memfdWorks: Bool)] = [
        (["--deny", "memfd_create=EPERM"], false),
        (["--deny", "memfd_create=ENOSYS"], false),
        (["--deny", "execveat=ENOSYS"], true),
        (["--deny-mfd-exec"], true),
        (["--deny", "memfd_create=EPERM", "--deny", "execveat=ENOSYS"], false),
        (["--deny-mfd-exec", "--deny", "execveat=ENOSYS"], true),
    ]
    static let orders = ["cache,memfd,tmpfile", "memfd,tmpfile", "memfd", "tmpfile", "cache", "memfd,cache"]

    @Test func refusedMemfdOrExecveatGivesTheDirectRunsOutputOrOneClearLine() throws {
        let helper = try ReliabilityFixtures.seccompExec()
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let direct = try ReliabilityFixtures.directProbe()
        var setups = 0
        for filter in Self.filters {
            let scratch = try ReliabilityFixtures.scratch("seccomp")
            defer { try? FileManager.default.removeItem(at: scratch) }
            let env = ReliabilityFixtures.environment(cache: scratch.appendingPathComponent("cache"))
            for order in Self.orders {
                setups += 1
                let label = "\(filter.rules.joined(separator: " ")), POLYBIN_EXEC=\(order)"
                try? FileManager.default.removeItem(at: scratch.appendingPathComponent("cache"))
                var runEnv = env
                runEnv["POLYBIN_EXEC"] = order
                let expected = try launch(helper, filter.rules + ["--", direct, "dump", "a b", ""], environment: runEnv)
                #expect(expected.status == 0, "direct run under \(label): \(expected)")
                let result = try launch(helper, filter.rules + ["--", fatbin, "dump", "a b", ""], environment: runEnv)
                #expect(!result.crashed && result.status != 134 && result.status != 139, "\(label): \(result)")
                let canWork = order != "memfd" || filter.memfdWorks
                if canWork {
                    #expect(result.status == 0, "\(label): \(result)")
                    #expect(Bool(comparable(result.stdout) == comparable(expected.stdout)), "\(label): output differs from a direct run")
                    #expect(result.stderr.isEmpty, "\(label): \(result.err)")
                } else {
                    #expect(result.status == 123, "\(label): \(result)")
                    #expect(result.stdout.isEmpty)
                    let lines = result.err.split(separator: "\n")
                    #expect(lines.count == 1 && lines[0].hasPrefix("polybin: could not execute ") && lines[0].contains("memfd: memfd_create: "),
                            "\(label): \(result.err)")
                }
            }
        }
        print("ExecStrategyTests: \(setups) seccomp set-ups run")
    }

    @Test func memfdNoexecSysctlFallsBackToDisk() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let scratch = try ReliabilityFixtures.scratch("noexec-sysctl")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let before = try String(contentsOfFile: "/proc/sys/vm/memfd_noexec", encoding: .utf8)
        // The sysctl is per PID namespace since Linux 6.3: set it in a new one, read it back.
        let setup = "echo 2 > /proc/sys/vm/memfd_noexec; test \"$(cat /proc/sys/vm/memfd_noexec)\" = 2"
        let flags = ["-pf", "--mount-proc"]
        let check = try inNamespace(flags, setup: setup, "/bin/true", environment: [:])
        guard check.status == 0 else {
            Issue.record("vm.memfd_noexec cannot be set to 2 in a new PID namespace here (\(check)): needs Linux 6.3+ and root")
            return
        }
        for order in ["memfd,tmpfile", "memfd,cache", "cache,memfd,tmpfile"] {
            let env = ReliabilityFixtures.environment(cache: scratch.appendingPathComponent("cache-\(order)"), ["POLYBIN_EXEC": order])
            let result = try inNamespace(flags, setup: setup, fatbin, ["exit", "42"], environment: env)
            #expect(result.status == 42, "POLYBIN_EXEC=\(order) with vm.memfd_noexec=2: \(result)")
            #expect(result.stderr.isEmpty, "\(result.err)")
        }
        let refused = try inNamespace(flags, setup: setup, fatbin, ["exit", "0"],
                                      environment: ReliabilityFixtures.environment(cache: scratch, ["POLYBIN_EXEC": "memfd"]))
        #expect(refused.status == 123, "\(refused)")
        #expect(refused.err.hasPrefix("polybin: could not execute ") && refused.err.contains("memfd"), "\(refused.err)")
        #expect(try String(contentsOfFile: "/proc/sys/vm/memfd_noexec", encoding: .utf8) == before, "the sysctl leaked out of the namespace")
    }

    @Test func noexecEverywhereNamesEachPlaceTried() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let helper = try ReliabilityFixtures.seccompExec()
        let fatbin = try ReliabilityFixtures.probeFatbin()
        // Each place is its own noexec tmpfs; the cache dir and TMPDIR are made inside the new /tmp.
        let cache = URL(fileURLWithPath: "/tmp/polybin-cache"), tmpdir = URL(fileURLWithPath: "/tmp/polybin-tmpdir")
        let setup = ["/tmp", "/dev/shm", "/var/tmp", cache.path, tmpdir.path].map {
            "mkdir -p \($0); mount -t tmpfs -o noexec,mode=0700 polybin-noexec \($0)"
        }.joined(separator: "; ")
        let env = ReliabilityFixtures.environment(cache: cache, ["TMPDIR": tmpdir.path])

        let refused = try inNamespace(setup: setup, helper, ["--deny", "memfd_create=EPERM", "--", fatbin, "exit", "0"], environment: env)
        #expect(refused.status == 123, "\(refused)")
        #expect(refused.stdout.isEmpty)
        let lines = refused.err.split(separator: "\n")
        #expect(lines.count == 1, "\(refused.err)")
        for place in ["cache: \(cache.path)", "memfd: memfd_create", tmpdir.path + ": execveat", "/tmp: execveat", "/dev/shm: execveat", "/var/tmp: execveat"] {
            #expect(refused.err.contains(place), "the message does not name \(place): \(refused.err)")
        }

        // memfd is not a mount: with it allowed, the same noexec places do not matter.
        let ran = try inNamespace(setup: setup, fatbin, ["exit", "7"], environment: env)
        #expect(ran.status == 7, "\(ran)")
    }

    @Test func noUsableHomeRunsAndWritesNothing() throws {
        guard ReliabilityFixtures.requireNamespaces() else { return }
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let scratch = try ReliabilityFixtures.scratch("home")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let home = scratch.appendingPathComponent("home"), xdg = scratch.appendingPathComponent("xdg")
        for dir in [home, xdg] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        let missing = scratch.appendingPathComponent("nonexistent").path
        let base = ["PATH": "/usr/bin:/bin"]
        let readOnly = "mount --bind -o ro \(home.path) \(home.path); mount --bind -o ro \(xdg.path) \(xdg.path)"
        let cases: [(String, [String: String], String?)] = [
            ("HOME unset", base, nil),
            ("HOME=\(missing)", base.merging(["HOME": missing]) { $1 }, nil),
            ("HOME relative", base.merging(["HOME": "relative/home"]) { $1 }, nil),
            ("read-only XDG_CACHE_HOME", base.merging(["HOME": home.path, "XDG_CACHE_HOME": xdg.path]) { $1 }, readOnly),
            ("read-only HOME", base.merging(["HOME": home.path]) { $1 }, readOnly),
        ]
        for (label, env, setup) in cases {
            for order in [nil, "cache,tmpfile"] as [String?] {
                var runEnv = env
                if let order { runEnv["POLYBIN_EXEC"] = order }
                let result = setup.map { try? inNamespace(setup: $0, fatbin, ["exit", "5"], environment: runEnv) }
                    ?? (try? launch(fatbin, ["exit", "5"], environment: runEnv, cwd: scratch.path))
                #expect(result?.status == 5, "\(label), POLYBIN_EXEC=\(order ?? "default"): \(String(describing: result))")
                #expect(result?.stderr.isEmpty == true, "\(label): \(result?.err ?? "")")
            }
            let written = FileManager.default.enumerator(atPath: scratch.path)?.allObjects as? [String] ?? []
            #expect(written.sorted() == ["home", "xdg"], "\(label): the runner wrote \(written)")
        }
    }

    @Test func payloadSeesDocumentedExeCommAndArgv0AndCanReexecItself() throws {
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let level = try ReliabilityFixtures.hostLevel()
        let scratch = try ReliabilityFixtures.scratch("view")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache")
        for strategy in ["cache", "memfd", "tmpfile"] {
            let env = ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": strategy])
            let dump = try Child(fatbin, argv: [Array("my-tool".utf8), Array("dump".utf8)],
                                 environment: env.map { Array("\($0.key)=\($0.value)".utf8) }).wait()
            #expect(dump.status == 0, "\(strategy): \(dump)")
            let exe = meta(dump.out, "exe") ?? "", comm = meta(dump.out, "comm") ?? ""
            #expect(meta(dump.out, "argv0") == "7 " + "my-tool".utf8.map { String(format: "%02x", $0) }.joined(), "argv[0] is the caller's")
            switch strategy {
            case "cache":
                #expect(exe.hasPrefix(cache.path + "/") && exe.count == cache.path.count + 65, "cache exe \(exe)")
                #expect(comm == String(exe.suffix(64).prefix(15)))
            case "memfd":
                #expect(exe == "/memfd:polybin:\(level) (deleted)")
                #expect(comm == String("memfd:polybin:\(level)".prefix(15)))
            default:
                // An O_TMPFILE file never had a name: the kernel shows `#INODE` in its directory.
                #expect(exe.hasPrefix("/tmp/#") && exe.hasSuffix(" (deleted)"), "tmpfile exe \(exe)")
                #expect(comm.hasPrefix("#") && comm.dropFirst().allSatisfy(\.isNumber), "tmpfile comm \(comm)")
            }
            // Re-exec through /proc/self/exe runs the same build again, without the runner.
            let again = try launch(fatbin, ["reexec"], environment: env)
            #expect(again.status == 0, "\(strategy) reexec: \(again)")
            let exeAgain = meta(again.out, "exe") ?? ""
            #expect(strategy == "tmpfile" ? exeAgain.hasPrefix("/tmp/#") : exeAgain == exe, "\(strategy) reexec: \(exeAgain)")
            #expect(again.out.contains("argc 2\n"))
        }
    }

    @Test func noMemfdModeNeverCallsMemfdCreate() throws {
        let helper = try ReliabilityFixtures.seccompExec()
        let packed = try ReliabilityFixtures.probeFatbin("probe-no-memfd", extra: ["--exec", "cache,tmpfile"])
        let fatbin = try ReliabilityFixtures.probeFatbin()
        let scratch = try ReliabilityFixtures.scratch("no-memfd")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let cache = scratch.appendingPathComponent("cache")
        // --kill: the process dies by SIGSYS the moment anything calls memfd_create.
        let cases: [(String, String, [String: String])] = [
            ("pack time --exec cache,tmpfile", packed, ReliabilityFixtures.environment(cache: cache)),
            ("pack time, no cache dir", packed, ["PATH": "/usr/bin:/bin"]),
            ("run time POLYBIN_EXEC=cache,tmpfile", fatbin, ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "cache,tmpfile"])),
            ("run time POLYBIN_EXEC=tmpfile", fatbin, ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "tmpfile"])),
        ]
        for (label, program, env) in cases {
            let result = try launch(helper, ["--kill", "memfd_create", "--", program, "exit", "3"], environment: env)
            #expect(result.status == 3 && result.signal == nil, "\(label): \(result)")
        }
        // When memfd is used, its name is stable: what /proc/self/exe and tools show.
        let names = try (0..<2).map { _ in
            try launch(fatbin, ["dump"], environment: ReliabilityFixtures.environment(cache: cache, ["POLYBIN_EXEC": "memfd"]))
        }.map { meta($0.out, "exe") }
        let level = try ReliabilityFixtures.hostLevel()
        #expect(names[0] == names[1] && names[0] == "/memfd:polybin:\(level) (deleted)")
    }
}
