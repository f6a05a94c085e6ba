import Glibc

/// The files `polybin embed` takes from its arguments, and the names they get.
///
/// Rules (README.md, "Embedded files"):
/// - A directory contributes every file below it, named by its path relative to that
///   directory; a file given by itself is named by its last path component. With a base
///   directory, every name is the path relative to the base instead. Separators are `/`.
/// - While walking a directory, entries whose name starts with `.` are skipped unless hidden
///   files are included; an argument named explicitly is always taken.
/// - Symbolic links are refused unless they are followed; directories with no files add nothing.
/// - Two different files with the same name, a file whose name is another file's directory
///   (`x` and `x/y`), a path that is not there, a file or directory that cannot be read, and
///   anything that is neither a file nor a directory are errors naming the path.
public struct EmbedInputs {
    public struct File: Equatable, Sendable {
        /// The name in the bundle.
        public var name: String
        /// The path as the user spelled it, joined with what was found below it.
        public var path: String
    }

    public var includeHidden = false
    public var followSymlinks = false
    /// Names are relative to this directory when it is set.
    public var base: String?

    public init(includeHidden: Bool = false, followSymlinks: Bool = false, base: String? = nil) {
        self.includeHidden = includeHidden
        self.followSymlinks = followSymlinks
        self.base = base
    }

    /// What `collect` found: the files sorted by name, and every directory walked (a make
    /// depfile lists those too, so adding or removing a file rebuilds).
    public struct Collection: Sendable {
        public var files: [File]
        public var directories: [String]
    }

    public func collect(_ arguments: [String]) throws -> Collection {
        // The base is only a reference point, never embedded: a link to a directory will do.
        let basePath = try base.map { base -> String in
            guard (try? FileSystem.status(FilePath(trimmed(base))).kind) == .directory else {
                throw PolybinError("\(base): --base is not a directory")
            }
            return TextPath.absolute(trimmed(base))
        }
        var byName: [String: File] = [:]
        var directories: [String] = []
        for argument in arguments {
            let path = trimmed(argument)
            var found: [File] = []
            switch try kind(of: path) {
            case .file:
                found.append(File(name: try nameComponent(TextPath.lastComponent(path), path: path), path: path))
            case .directory:
                var ancestors: Set<DirectoryID> = []
                try walk(path, prefix: "", into: &found, directories: &directories, ancestors: &ancestors)
            }
            for var file in found {
                if let basePath { file.name = try name(of: file.path, relativeTo: basePath) }
                if let other = byName[file.name], other.path != file.path {
                    throw PolybinError("\(other.path) and \(file.path) both map to the name '\(file.name)'; rename one, or use --base to keep their directories in the names")
                }
                byName[file.name] = file
            }
        }
        let files = byName.values.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        try refuseFileDirectoryClash(files, byName: byName)
        return Collection(files: files, directories: directories)
    }

    /// A name cannot be a file and, for another file, a directory: `x` beside `x/y`.
    private func refuseFileDirectoryClash(_ files: [File], byName: [String: File]) throws {
        for file in files {
            var slash = file.name.utf8.firstIndex(of: UInt8(ascii: "/"))
            while let at = slash {
                let directory = String(file.name[..<at])
                if let clash = byName[directory] {
                    throw PolybinError("\(clash.path): its name '\(directory)' is also the directory of '\(file.name)' (\(file.path)); a bundle cannot hold a file and a directory of one name")
                }
                slash = file.name.utf8[file.name.utf8.index(after: at)...].firstIndex(of: UInt8(ascii: "/"))
            }
        }
    }

    enum Kind { case file, directory }

    struct DirectoryID: Hashable { var device: UInt64; var inode: UInt64 }

    /// What `path` is, applying the symlink rule.
    private func kind(of path: String) throws -> Kind {
        var info: FileStatus
        do {
            info = try FileSystem.status(FilePath(path), followingLinks: false)
        } catch let error as SystemError {
            throw PolybinError("\(path): \(error.errno == ENOENT ? "no such file or directory" : "cannot be read (\(error.call): \(error.reason))")")
        }
        if info.kind == .symbolicLink {
            guard followSymlinks else {
                throw PolybinError("\(path): is a symbolic link; pass --follow-symlinks to embed what it points to")
            }
            do {
                info = try FileSystem.status(FilePath(path))
            } catch let error as SystemError {
                throw PolybinError("\(path): is a symbolic link to \(error.errno == ENOENT ? "nothing (dangling)" : "something that cannot be read (\(error.call): \(error.reason))")")
            }
        }
        switch info.kind {
        case .regular: return .file
        case .directory: return .directory
        default: throw PolybinError("\(path): is neither a regular file nor a directory")
        }
    }

    private func walk(_ directory: String, prefix: String, into files: inout [File], directories: inout [String],
                      ancestors: inout Set<DirectoryID>) throws {
        let info = try readable(directory) { try FileSystem.status(FilePath(directory)) }
        // Only a followed symlink can lead back up the tree.
        let id = DirectoryID(device: info.device, inode: info.inode)
        guard ancestors.insert(id).inserted else {
            throw PolybinError("\(directory): symbolic links lead into a loop here")
        }
        defer { ancestors.remove(id) }
        directories.append(directory)

        for entry in try entries(of: directory) {
            if entry.hasPrefix(".") && !includeHidden { continue }
            let path = directory == "." ? entry : directory == "/" ? "/" + entry : directory + "/" + entry
            let name = prefix + (try nameComponent(entry, path: path))
            switch try kind(of: path) {
            case .file: files.append(File(name: name, path: path))
            case .directory: try walk(path, prefix: name + "/", into: &files, directories: &directories, ancestors: &ancestors)
            }
        }
    }

    /// Entry names of a directory, sorted so that errors come in a stable order.
    private func entries(of directory: String) throws -> [String] {
        try readable(directory) { try FileSystem.entries(of: FilePath(directory)) }.map { bytes in
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = String(decoding: bytes, as: UTF8.self)
                throw PolybinError("\(directory)/\(shown): the file name is not valid UTF-8, which names in a bundle must be")
            }
            return name
        }
    }

    /// Runs `body`; a failed call becomes "PATH: cannot be read (CALL: reason)".
    private func readable<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw PolybinError("\(path): cannot be read (\(error.call): \(error.reason))")
        }
    }

    private func nameComponent(_ component: String, path: String) throws -> String {
        // Bundle names are C strings in the generated table.
        guard !component.utf8.contains(0) else { throw PolybinError("\(path): the file name holds a NUL byte") }
        return component
    }

    private func name(of path: String, relativeTo base: String) throws -> String {
        let full = TextPath.absolute(path)
        guard full.hasPrefix(base == "/" ? "/" : base + "/") else {
            throw PolybinError("\(path): is not inside --base \(self.base ?? base)")
        }
        return String(full.dropFirst(base == "/" ? 1 : base.count + 1))
    }

    /// `path` without trailing slashes (but "/" stays "/").
    private func trimmed(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
