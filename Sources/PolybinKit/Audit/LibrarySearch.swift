import CPolybin

/// Where the loader finds each `DT_NEEDED` library, in its order (glibc `elf/dl-load.c`,
/// `_dl_map_object`): a name with a slash is a path; else `DT_RPATH` (only without
/// `DT_RUNPATH`), then `DT_RUNPATH`, both with `$ORIGIN` (and `$LIB`, `$PLATFORM`) expanded,
/// then `/etc/ld.so.cache`, then the default directories (multiarch first, as Debian's glibc
/// is configured). `LD_LIBRARY_PATH` is left out on purpose: the audit answers for the
/// program as installed, not for this shell. A candidate counts only when it is an ELF
/// library of the program's architecture, as the loader skips the others.
public struct LibrarySearch: Sendable {
    public struct Resolved: Equatable, Sendable {
        public var name: String
        /// nil: not found on this machine.
        public var path: String?
        /// "rpath", "runpath", "ld.so.cache", "default directories", "path".
        public var how: String?
    }

    public var cache: LoaderCache
    public var arch: Architecture

    public init(cache: LoaderCache, arch: Architecture) {
        self.cache = cache
        self.arch = arch
    }

    public var defaultDirectories: [String] {
        let triplet = arch == .x86_64 ? "x86_64-linux-gnu" : "aarch64-linux-gnu"
        return ["/lib/\(triplet)", "/usr/lib/\(triplet)", "/lib64", "/usr/lib64", "/lib", "/usr/lib"]
    }

    /// The search of each of `needed` for a program at `origin` (the directory of its real
    /// path) with these RPATH and RUNPATH strings.
    public func resolve(_ needed: [String], rpath: String?, runpath: String?, origin: String) -> [Resolved] {
        needed.map { name in
            if name.contains("/") {
                return Resolved(name: name, path: isLibrary(name) ? name : nil, how: "path")
            }
            if runpath == nil, let rpath, let path = search(name, in: expand(rpath, origin: origin)) {
                return Resolved(name: name, path: path, how: "rpath")
            }
            if let runpath, let path = search(name, in: expand(runpath, origin: origin)) {
                return Resolved(name: name, path: path, how: "runpath")
            }
            if let path = cache.path(of: name, arch: arch), isLibrary(path) {
                return Resolved(name: name, path: path, how: "ld.so.cache")
            }
            if let path = search(name, in: defaultDirectories) {
                return Resolved(name: name, path: path, how: "default directories")
            }
            return Resolved(name: name, path: nil, how: nil)
        }
    }

    /// The directories of a colon-separated RPATH or RUNPATH; an empty entry is the current
    /// directory, as for the loader.
    func expand(_ list: String, origin: String) -> [String] {
        // Debian's multiarch glibc expands $LIB to lib/TRIPLET.
        let lib = arch == .x86_64 ? "lib/x86_64-linux-gnu" : "lib/aarch64-linux-gnu"
        let platform = arch == .x86_64 ? "x86_64" : "aarch64"
        return list.split(separator: ":", omittingEmptySubsequences: false).map { entry in
            var directory = String(entry)
            for (token, value) in [("$ORIGIN", origin), ("${ORIGIN}", origin), ("$LIB", lib), ("${LIB}", lib),
                                   ("$PLATFORM", platform), ("${PLATFORM}", platform)] {
                directory = directory.replacing(token, with: value)
            }
            return directory.isEmpty ? "." : directory
        }
    }

    func search(_ name: String, in directories: [String]) -> String? {
        for directory in directories {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if isLibrary(path) { return path }
        }
        return nil
    }

    /// An ELF file of this architecture (the loader passes over a library of another one).
    func isLibrary(_ path: String) -> Bool {
        guard let status = try? FileSystem.status(FilePath(path)), status.kind == .regular,
              let prefix = try? Files.readPrefix(path, count: 64),
              let header = try? ELFFile.header(prefix) else { return false }
        return header.machine == arch.rawValue
    }
}
