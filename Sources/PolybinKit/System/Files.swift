import Foundation

/// Reading inputs and writing outputs. Outputs go to a temporary name beside the target and
/// are renamed into place, so an interrupted or failed step never leaves a half-written file.
public enum Files {
    public static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PolybinError("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw PolybinError("\(path): is a directory, not a file") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PolybinError("\(path): cannot be read (permission denied)")
        }
        defer { try? handle.close() }
        do {
            return [UInt8](try handle.readToEnd() ?? Data())
        } catch {
            throw PolybinError("\(path): cannot be read (\(error.localizedDescription))")
        }
    }

    /// Writes `bytes` to `path` through `path.tmp-PID` and rename; `executable` sets mode 0755.
    public static func writeAtomically(_ path: String, executable: Bool = false, _ write: (String) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)").path
        do {
            try write(temp)
            if executable {
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: temp)
            }
            guard rename(temp, path) == 0 else {
                throw PolybinError("\(path): cannot be written (\(String(cString: strerror(errno))))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            if let error = error as? PolybinError { throw error }
            throw PolybinError("\(path): cannot be written (\(error.localizedDescription))")
        }
    }

    /// Whether both paths name one existing file (same device and inode), however spelled.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    public static func write(_ bytes: [UInt8], to path: String, executable: Bool = false) throws {
        try writeAtomically(path, executable: executable) { temp in
            guard FileManager.default.createFile(atPath: temp, contents: Data(bytes)) else {
                throw PolybinError("\(path): cannot be written (check the directory exists and is writable)")
            }
        }
    }
}
