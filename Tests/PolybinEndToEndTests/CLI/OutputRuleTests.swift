import Foundation
import Glibc
import Testing
import PolybinTestSupport

/// docs/output-rule.md, for every output option of every verb the CLI lists (EveryVerb): what
/// is not a regular file is never replaced, and is refused in one line before any work; the
/// cases in between (a link to a regular file, hard links, the mode) do what the page says.
/// Devices, FIFOs and sockets are private ones made in a scratch directory, never the machine's.
@Suite struct OutputRuleTests {
    /// What is put where an output goes. `link` puts a symbolic link there to the thing instead.
    struct Hostile: CustomStringConvertible {
        let kind: String
        let link: Bool
        var description: String { link ? "a symbolic link to \(kind)" : kind }
    }

    static let hostiles: [Hostile] = ["a character device", "a FIFO", "a socket", "a directory", "nothing"]
        .flatMap { kind in kind == "nothing" ? [Hostile(kind: kind, link: true)] : [Hostile(kind: kind, link: false), Hostile(kind: kind, link: true)] }

    /// Makes `kind` at `path`; false when this machine cannot (mknod needs CAP_MKNOD; a socket's
    /// path must fit sockaddr_un).
    static func make(_ kind: String, at path: String) -> Bool {
        switch kind {
        case "a character device": return mknod(path, S_IFCHR | 0o666, dev_t(0x103)) == 0   // 1,3: a private null
        case "a FIFO": return mkfifo(path, 0o644) == 0
        case "a directory": return mkdir(path, 0o755) == 0
        case "a socket": return bindSocket(path)
        default: return true
        }
    }

    static func bindSocket(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes + [0]) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }

    /// Inode and type, without following a link.
    static func identity(_ path: String) -> (inode: UInt64, type: UInt32)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_ino), info.st_mode & S_IFMT)
    }

    @Test func everyVerbHasOutputsTheTestsCanRun() throws {
        let outputs = EveryVerb.outputs
        // The CLI's description is read, not empty: the verbs that write are all there.
        #expect(Set(outputs.map(\.verb)).isSuperset(of: ["build", "pack", "object", "generate-c", "link", "extract", "embed"]), "\(outputs)")
        for verb in EveryVerb.verbs {
            #expect(EveryVerb.arguments(verb) != nil, "EveryVerb.arguments does not know \(verb): add it")
        }
        for output in outputs {
            #expect(EveryVerb.arguments(output.verb, option: output.option) != nil, "EveryVerb.arguments cannot run \(output): add it")
        }
    }

    /// A device, FIFO, socket or directory (or a link to one, or a link to nothing) given as
    /// any output: one `polybin: PATH:` line, exit 1, the thing still there as it was, nothing
    /// else written. Refused before any work: with the inputs missing the line still names the
    /// output, and no input was opened (a FIFO input would block the verb that read it).
    @Test(arguments: EveryVerb.outputs)
    func whatIsNotARegularFileIsNeverReplaced(output: EveryVerb.Output) throws {
        for hostile in Self.hostiles {
            for missingInputs in [false, true] {
                let dir = try TestEnvironment.temporaryDirectory("rule")
                defer { try? FileManager.default.removeItem(at: dir) }
                if !missingInputs { try EveryVerb.copyInputs(into: dir) }
                let tmp = dir.appendingPathComponent("tmp")
                try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
                let thing = dir.appendingPathComponent(hostile.link ? "thing" : "out").path
                guard Self.make(hostile.kind, at: thing) else {
                    if hostile.kind != "a character device" || getuid() == 0 { Issue.record("cannot make \(hostile.kind)") }
                    continue
                }
                if hostile.link { #expect(symlink("thing", dir.appendingPathComponent("out").path) == 0) }
                let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
                let identities = ["out", "thing"].map { Self.identity(dir.appendingPathComponent($0).path) }
                let arguments = try #require(EveryVerb.arguments(output.verb, option: output.option, missingInputs: missingInputs))
                let result = try launch(TestEnvironment.polybin, arguments, environment: ["PATH": "/usr/bin:/bin", "TMPDIR": tmp.path],
                                        cwd: dir.path, limit: 30)
                let label = "\(output) as \(hostile)\(missingInputs ? ", inputs missing" : "")"
                #expect(!result.crashed && result.status == 1, "\(label): \(result)")
                let lines = result.err.split(separator: "\n")
                #expect(lines.count == 1 && lines[0].hasPrefix("polybin: out: "), "\(label): \(result.err)")
                let expected = hostile.kind == "nothing" ? "a symbolic link to nothing" : hostile.kind
                #expect(result.err.contains(expected), "\(label): the line does not say what is there: \(result.err)")
                let after = ["out", "thing"].map { Self.identity(dir.appendingPathComponent($0).path) }
                #expect(zip(identities, after).allSatisfy { $0?.inode == $1?.inode && $0?.type == $1?.type }, "\(label): replaced")
                #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == before, "\(label): wrote something")
                #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "\(label): left scratch files")
            }
        }
    }

    /// A path whose directory does not exist: refused before any work, naming the directory.
    @Test(arguments: EveryVerb.outputs)
    func anOutputInAMissingDirectoryIsRefusedBeforeAnyWork(output: EveryVerb.Output) throws {
        let dir = try TestEnvironment.temporaryDirectory("rule-nodir")
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = try #require(EveryVerb.arguments(output.verb, option: output.option, output: "nodir/out", missingInputs: true))
        let result = try launch(TestEnvironment.polybin, arguments, environment: ["PATH": "/usr/bin:/bin", "TMPDIR": dir.path],
                                cwd: dir.path, limit: 30)
        #expect(!result.crashed && result.status == 1, "\(output): \(result)")
        #expect(result.err == "polybin: nodir/out: cannot be written: its directory nodir does not exist\n", "\(output): \(result.err)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "\(output)")
    }

    /// A link that another user (nobody) put in a shared directory (sticky, world-writable and
    /// root's, as /tmp): not followed, whatever fs.protected_symlinks says; the file it points
    /// to keeps its bytes. Needs root (lchown).
    @Test(arguments: EveryVerb.outputs)
    func aLinkAnotherUserPutInASharedDirectoryIsNotFollowed(output: EveryVerb.Output) throws {
        guard getuid() == 0 else { return }
        let dir = try TestEnvironment.temporaryDirectory("rule-shared")
        defer { try? FileManager.default.removeItem(at: dir) }
        let shared = dir.appendingPathComponent("shared").path, victim = dir.appendingPathComponent("victim").path
        #expect(mkdir(shared, 0o777) == 0 && chmod(shared, 0o1777) == 0)
        try Data("old".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(symlink(victim, "\(shared)/out") == 0 && lchown("\(shared)/out", 65534, 65534) == 0)
        let arguments = try #require(EveryVerb.arguments(output.verb, option: output.option, output: "shared/out", missingInputs: true))
        let result = try launch(TestEnvironment.polybin, arguments, environment: ["PATH": "/usr/bin:/bin", "TMPDIR": dir.path],
                                cwd: dir.path, limit: 30)
        #expect(!result.crashed && result.status == 1, "\(output): \(result)")
        #expect(result.err.hasPrefix("polybin: shared/out: is a symbolic link another user (uid 65534) put in a shared directory")
                && result.err.split(separator: "\n").count == 1, "\(output): \(result.err)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == Data("old".utf8), "\(output): the file behind the link was replaced")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(shared)/out")) == victim, "\(output): the link was replaced")
    }

    /// A symbolic link to a regular file: the file is replaced in its own directory (no
    /// temporary file left beside the link or the file), the link stays a link to it. A file
    /// with another hard link: the name given gets a new file, the other keeps the old bytes.
    /// The mode is 0755 for executables and has no execute bit otherwise.
    @Test(arguments: EveryVerb.outputs)
    func aLinkToARegularFileHasItsTargetReplaced(output: EveryVerb.Output) throws {
        let dir = try TestEnvironment.temporaryDirectory("rule-link")
        defer { try? FileManager.default.removeItem(at: dir) }
        try EveryVerb.copyInputs(into: dir)
        let elsewhere = dir.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let target = elsewhere.appendingPathComponent("target").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        #expect(symlink("elsewhere/target", dir.appendingPathComponent("out").path) == 0)
        #expect(link(target, elsewhere.appendingPathComponent("second-name").path) == 0)
        let arguments = try #require(EveryVerb.arguments(output.verb, option: output.option))
        let result = try launch(TestEnvironment.polybin, arguments, environment: ["PATH": "/usr/bin:/bin", "TMPDIR": dir.path],
                                cwd: dir.path, limit: 120)
        #expect(!result.crashed && result.status == 0, "\(output): \(result)")
        let pointsTo = try? FileManager.default.destinationOfSymbolicLink(atPath: dir.appendingPathComponent("out").path)
        #expect(pointsTo == "elsewhere/target", "\(output): the link was replaced")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) != Data("old".utf8), "\(output): the target was not written")
        #expect(try Data(contentsOf: elsewhere.appendingPathComponent("second-name")) == Data("old".utf8), "\(output): the other hard link changed")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).sorted() == ["second-name", "target"], "\(output)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(left.isEmpty, "\(output) left \(left)")
        var info = stat()
        #expect(stat(target, &info) == 0)
        let mode = info.st_mode & 0o777
        if EveryVerb.writesExecutable(output.verb) {
            #expect(mode == 0o755, "\(output): mode \(String(mode, radix: 8))")
        } else {
            #expect(mode & 0o111 == 0 && mode & 0o600 == 0o600, "\(output): mode \(String(mode, radix: 8))")
        }
    }
}
