import Glibc

/// The files `polybin embed` takes from its arguments, and the names they get.
///
/// Rules (docs/embedding.md, "Embedded files"):
/// - A directory contributes every file below it, named by its path relative to that
///   directory; a file given by itself is named by its last path component. With a base
///   directory, every name is the path relative to the base instead. Separators are `/`.
/// - While walking a directory, entries whose name starts with `.` are skipped unless hidden
///   files are included; an argument named explicitly is always taken.
/// - Symbolic links are refused unless they are followed; directories with no files add nothing.
/// - Two different files with the same name, a file whose name is another file's directory
///   (`x` and `x/y`), a path that is not there, a file or directory that cannot be read, and
///   anything that is neither a file nor a directory are errors naming the path. One file
///   reached twice (however spelled) is one file.
/// - Paths are bytes end to end; names in the bundle must be UTF-8.
/// - The outputs being written are left out of a directory walked (with their temporary
///   files); naming one of them as an input is an error.
public struct EmbedInputs {
    public struct File: Equatable, Sendable {
        /// The name in the bundle.
        public var name: String
        /// The path as the user spelled it, joined with what was found below it.
        public var path: FilePath
        /// The file itself, links followed: one file spelled two ways is one file.
        var id: FileID
        /// Its status when it was found (links followed), so packing need not ask again.
        var status: FileStatus?

        public init(name: String, path: FilePath) {
            self.name = name
            self.path = path
            id = FileID(device: 0, inode: 0)
        }

        init(name: String, path: FilePath, status: FileStatus) {
            self.name = name
            self.path = path
            id = FileID(status)
            self.status = status
        }
    }

    public var includeHidden = false
    public var followSymlinks = false
    /// Names are relative to this directory when it is set.
    public var base: FilePath?
    /// The outputs being written: never taken from a directory walked, refused when named.
    public var outputs: [(path: FilePath, place: FilePlace)] = []
    /// Where a walk reports the files it finds (phase "walking").
    public var progress: Progress = .silent

    public init(includeHidden: Bool = false, followSymlinks: Bool = false, base: FilePath? = nil) {
        self.includeHidden = includeHidden
        self.followSymlinks = followSymlinks
        self.base = base
    }

    /// What `collect` found: the files sorted by name, and every directory walked (a make
    /// depfile lists those too, so adding or removing a file rebuilds).
    public struct Collection: Sendable {
        public var files: [File]
        public var directories: [FilePath]
    }

    public func collect(_ arguments: [FilePath]) throws -> Collection {
        // The base is only a reference point, never embedded: a link to a directory will do.
        let basePath = try base.map { base -> [[UInt8]] in
            guard (try? FileSystem.status(base.trimmed).kind) == .directory else {
                throw PolybinError("\(base): --base is not a directory")
            }
            return TextPath.components(base.trimmed)
        }
        var byName: [String: File] = [:]
        var directories: [FilePath] = []
        progress.begin("walking", total: 0, unit: .files)
        for argument in arguments {
            let path = argument.trimmed
            var found: [File] = []
            let (kind, info) = try kind(of: path)
            switch kind {
            case .file:
                if let output = outputs.first(where: { $0.place.existing.map { FileID($0) } == FileID(info) }) {
                    throw PolybinError("\(path): is also an output (\(output.path)), which would replace it: write the output elsewhere")
                }
                found.append(File(name: try nameComponent(path.lastComponent, path: path), path: path, status: info))
            case .directory:
                var ancestors: Set<FileID> = []
                try walk(path, prefix: "", into: &found, directories: &directories, ancestors: &ancestors)
            }
            for var file in found {
                if let basePath { file.name = try name(of: file.path, relativeTo: basePath) }
                if let other = byName[file.name], other.id != file.id {
                    throw PolybinError("\(other.path) and \(file.path) both map to the name '\(file.name)'; rename one, or use --base to keep their directories in the names")
                }
                if byName[file.name] == nil { byName[file.name] = file }
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

    struct FileID: Hashable, Sendable {
        var device: UInt64
        var inode: UInt64
        init(device: UInt64, inode: UInt64) { self.device = device; self.inode = inode }
        init(_ info: FileStatus) { self.init(device: info.device, inode: info.inode) }
    }

    /// What `path` is, applying the symlink rule, and its status (links followed).
    private func kind(of path: FilePath) throws -> (Kind, FileStatus) {
        var info: FileStatus
        do {
            info = try FileSystem.status(path, followingLinks: false)
        } catch let error as SystemError {
            throw PolybinError("\(path): \(error.errno == ENOENT ? "no such file or directory" : "cannot be read (\(error.call): \(error.reason))")")
        }
        if info.kind == .symbolicLink {
            guard followSymlinks else {
                throw PolybinError("\(path): is a symbolic link; pass --follow-symlinks to embed what it points to")
            }
            do {
                info = try FileSystem.status(path)
            } catch let error as SystemError {
                throw PolybinError("\(path): is a symbolic link to \(error.errno == ENOENT ? "nothing (dangling)" : "something that cannot be read (\(error.call): \(error.reason))")")
            }
        }
        switch info.kind {
        case .regular: return (.file, info)
        case .directory: return (.directory, info)
        default: throw PolybinError("\(path): is neither a regular file nor a directory")
        }
    }

    private func walk(_ directory: FilePath, prefix: String, into files: inout [File], directories: inout [FilePath],
                      ancestors: inout Set<FileID>) throws {
        let info = try readable(directory) { try FileSystem.status(directory) }
        // Only a followed symlink can lead back up the tree.
        let id = FileID(info)
        guard ancestors.insert(id).inserted else {
            throw PolybinError("\(directory): symbolic links lead into a loop here")
        }
        defer { ancestors.remove(id) }
        directories.append(directory)

        for entry in try readable(directory, { try FileSystem.entries(of: directory) }) {
            if entry.first == 0x2E && !includeHidden { continue }
            // The outputs (and their temporary files) would otherwise be embedded into
            // themselves, growing at every run.
            if outputs.contains(where: { $0.place.isEntry(entry, of: info) }) { continue }
            let path = directory.bytes == [0x2E] ? FilePath(bytes: entry) : directory.appending(entry)
            let (kind, status) = try kind(of: path)
            if kind == .file, outputs.contains(where: { $0.place.existing.map { FileID($0) } == FileID(status) }) { continue }
            let name = prefix + (try nameComponent(entry, path: path))
            switch kind {
            case .file:
                files.append(File(name: name, path: path, status: status))
                progress.advance(by: 1)
            case .directory: try walk(path, prefix: name + "/", into: &files, directories: &directories, ancestors: &ancestors)
            }
        }
    }

    /// Runs `body`; a failed call becomes "PATH: cannot be read (CALL: reason)".
    private func readable<T>(_ path: FilePath, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw PolybinError("\(path): cannot be read (\(error.call): \(error.reason))")
        }
    }

    /// A name component of the bundle: names are UTF-8 C strings in the generated table.
    private func nameComponent(_ component: [UInt8], path: FilePath) throws -> String {
        guard !component.contains(0) else { throw PolybinError("\(path): the file name holds a NUL byte") }
        guard let name = String(validating: component, as: UTF8.self) else {
            throw PolybinError("\(path): the file name is not valid UTF-8, which names in a bundle must be")
        }
        return name
    }

    private func name(of path: FilePath, relativeTo base: [[UInt8]]) throws -> String {
        let full = TextPath.components(path)
        guard full.count > base.count, Array(full[..<base.count]) == base else {
            throw PolybinError("\(path): is not inside --base \(self.base ?? "/")")
        }
        return try nameComponent(Array(full[base.count...].joined(separator: [0x2F])), path: path)
    }
}
