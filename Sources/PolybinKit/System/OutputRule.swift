import Glibc

/// The rule for every file a verb writes (`-o`, `--header`, `--depfile`, `--bundle`, extract's
/// output; docs/output-rule.md), checked before any work and again when the output is staged:
/// nothing there or a regular file is replaced atomically; a symbolic link to a regular file
/// has its target replaced, in the target's own directory; a directory, device, FIFO or socket
/// (or a link to one) is never replaced, nor is a path whose directory cannot take the
/// temporary file. Refusals are one `PATH: problem` line naming the path as given.
///
/// Swift, not C: the runner and the PHP host write only into their private cache directories,
/// through descriptors they opened, never to a path a user named; no other caller asks this.
public enum OutputRule {
    /// Where `path` is written: `path` itself, or the regular file a symbolic link resolves to.
    static func target(_ path: FilePath) throws -> FilePath {
        // Nothing the rename could land on: said before any work, not by the rename after it.
        guard !path.bytes.isEmpty else { throw PolybinError("an output path is empty: name a file") }
        do {
            var target = path
            var what = "is "
            var existing = try FileSystem.statusIfPresent(path, followingLinks: false)
            if let entry = existing, entry.kind == .symbolicLink {
                try refuseForeignLink(path, owner: entry.owner)
                existing = try FileSystem.statusIfPresent(path)
                guard let pointee = existing else {
                    throw PolybinError("\(path): is a symbolic link to nothing: polybin replaces only a regular file a link points to; remove the link or name a file")
                }
                what = "is a symbolic link to "
                // Only a regular file's place is asked for: a link to a pipe (/proc/self/fd/1)
                // has no path to resolve, and is refused as what it is.
                if pointee.kind == .regular {
                    target = try FileSystem.resolved(path)
                    what += "\(target), "
                }
            }
            switch existing?.kind {
            case nil, .regular: break
            case .directory:
                throw PolybinError("\(path): \(what)a directory: name a file to write")
            case .symbolicLink, .other:
                throw PolybinError("\(path): \(what)\(existing!.otherKind), which polybin never replaces: name a regular file")
            }
            if path.bytes.last == 0x2F {
                throw PolybinError("\(path): ends in /, so it names a directory: name a file to write")
            }
            try requireWritable(target.directory, for: path)
            return target
        } catch let error as SystemError {
            throw PolybinError("\(path): cannot be written (\(error.call): \(error.reason))")
        }
    }

    /// A link another user put in a shared directory (sticky and world-writable, as /tmp) is
    /// not followed: it could point anywhere the user running polybin may write (as root,
    /// anywhere), the classic /tmp attack. The kernel refuses such links itself only where
    /// `fs.protected_symlinks` is on; this holds where it is off. The rule is the kernel's:
    /// followed when the link is the user's own or the directory owner's.
    private static func refuseForeignLink(_ path: FilePath, owner: UInt32) throws {
        guard let directory = try FileSystem.statusIfPresent(path.directory),
              directory.permissions & 0o1002 == 0o1002, owner != geteuid(), owner != directory.owner else { return }
        throw PolybinError("\(path): is a symbolic link another user (uid \(owner)) put in a shared directory: polybin does not follow it; remove the link or name another path")
    }

    /// The output's directory must exist and take a new entry: the temporary file goes there.
    private static func requireWritable(_ directory: FilePath, for path: FilePath) throws {
        guard try directory.withCString("faccessat", { faccessat(AT_FDCWD, $0, W_OK | X_OK, AT_EACCESS) }) == 0 else {
            let error = SystemError.last("faccessat", directory)
            throw PolybinError("\(path): cannot be written: its directory \(directory) \(error.errno == ENOENT ? "does not exist" : "takes no new file (\(error.reason))")")
        }
    }

    /// The check a verb makes before any work: the rule for `output`, then that it names none
    /// of `inputs` (the atomic rename would replace that input).
    public static func check(_ output: String, inputs: [(path: String, what: String)] = []) throws {
        _ = try target(FilePath(output))
        try Files.refuseOverwriting(output, inputs: inputs)
    }
}
