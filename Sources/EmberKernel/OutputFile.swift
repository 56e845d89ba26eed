import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// A file Ember writes, made so that no command can remove or truncate a file it did not create.
///
/// The bytes go to a new file under a temporary name in the destination's directory, created with
/// `O_CREAT|O_EXCL` (which never follows a symlink or opens a device or FIFO); `publish` renames it into place.
/// The destination may only be absent or a regular file: a device, FIFO, socket, directory or symlink there is
/// refused before anything is opened. `discard` removes only what this object created, checked by inode.
public final class OutputFile {
    public let path: String
    public let fd: Int32
    /// The temporary name, until `publish` renames it to `path`.
    private var temporaryPath: String?
    /// The file's device, inode and (once closed) last change: what removing it later checks, so that a file put
    /// in its place is never touched, even one that got the same inode number.
    public private(set) var identity: FileIdentity
    /// `publish(keepingOld:)` moved an existing `path` to `path.old` (and `discard` moves it back).
    public private(set) var movedToOld = false
    /// That move replaced an existing `path.old`, as perf does.
    public private(set) var replacedOld = false
    private var closed = false

    /// Checks `path` (and, with `keepingOld`, `path.old`), then creates the temporary file with `mode`.
    public init(path: String, mode: mode_t = 0o644, keepingOld: Bool = false) throws {
        guard !path.isEmpty else { throw OutputFileError.emptyPath }
        self.path = path
        try OutputFile.checkReplaceable(path)
        if keepingOld { try OutputFile.checkReplaceable(path + ".old") }
        let directory = OutputFile.directory(of: path)
        let base = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        guard !base.isEmpty, base != ".", base != ".." else { throw OutputFileError.notAFile(path: path, kind: "directory") }
        OutputFile.collectLeftovers(directory: directory, base: base)
        var template = Array((directory + "/." + base + ".ember-\(getpid())-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            let e = Errno.current
            var st = stat()
            guard stat(directory, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                throw OutputFileError.noDirectory(path: path, directory: directory)
            }
            throw OutputFileError.cannotCreate(path: path, errno: e)
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fchmod(fd, mode & ~OutputFile.umask)
        self.fd = fd
        temporaryPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var st = stat()
        fstat(fd, &st)
        identity = FileIdentity(st)
    }

    deinit { if !closed { Glibc.close(fd) } }

    /// The directory a path names a file in: `.` for a bare name, `/` for one at the root.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A read-write file with no name (O_TMPFILE) in the directory of `path`, else in /tmp, gone when its
    /// descriptor is closed: scratch space that a killed Ember leaves nothing of. -1 when neither can have one.
    public static func unnamedScratch(beside path: String) -> Int32 {
        // O_TMPFILE is __O_TMPFILE | O_DIRECTORY, a macro Swift does not import.
        let unnamed: Int32 = 0o20_000_000 | O_DIRECTORY | O_RDWR | O_CLOEXEC
        let fd = open(directory(of: path), unnamed, 0o600)
        return fd >= 0 ? fd : open("/tmp", unnamed, 0o600)
    }

    /// Removes what an Ember killed while writing `base` left in `directory`: temporary files named
    /// `.BASE.ember-PID-XXXXXX` whose process is gone (a live one may still be writing), regular files only, and
    /// nothing else.
    static func collectLeftovers(directory: String, base: String) {
        let prefix = "." + base + ".ember-"
        for name in directoryEntries(directory) where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
            guard rest.count == 2, rest[1].count == 6, let pid = Int32(rest[0]), pid > 0, pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            var st = stat()
            let path = directory + "/" + name
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid() else { continue }
            unlink(path)
        }
    }

    /// Refuses a destination that exists and is not a regular file, before anything is opened (opening a FIFO
    /// would block, and replacing a device node or a symlink would destroy what is not ours).
    public static func checkReplaceable(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        let kind: String
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: kind = "directory"
        case S_IFLNK: kind = "symbolic link"
        case S_IFCHR, S_IFBLK: kind = "device"
        case S_IFIFO: kind = "FIFO"
        case S_IFSOCK: kind = "socket"
        default: kind = "special file"
        }
        throw OutputFileError.notAFile(path: path, kind: kind)
    }

    /// The process umask, read without changing it for longer than the call.
    private static let umask: mode_t = {
        let m = Glibc.umask(0o022)
        Glibc.umask(m)
        return m
    }()

    /// Writes all of `bytes` at the current offset, retrying short writes and EINTR.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        do { try writeAll(fd: fd, bytes) } catch { throw OutputFileError.writeFailed(path: path, errno: error) }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Renames the file into place. With `keepingOld` an existing `path` becomes `path.old` first (replacing an
    /// older `path.old`, as perf does); otherwise it is replaced, unless `replacing` is off (a name Ember chose,
    /// such as a snapshot's: a file already there is someone else's, and stays). A destination that is absent is
    /// only ever taken with RENAME_NOREPLACE (so two writers racing for one name cannot silently lose a file), and
    /// one that exists is checked again just before, so that nothing but a regular file is ever replaced.
    public func publish(keepingOld: Bool = false, replacing: Bool = true) throws {
        guard let temporary = temporaryPath else { return }
        for _ in 0..<3 {
            var st = stat()
            if lstat(path, &st) != 0 {
                if ember_rename_noreplace(temporary, path) == 0 {
                    temporaryPath = nil
                    return
                }
                guard errno == EEXIST else { throw OutputFileError.cannotRename(from: temporary, to: path, errno: Errno.current) }
                continue  // someone created it meanwhile: treat it as an existing file
            }
            guard replacing else { throw OutputFileError.taken(path: path) }
            try OutputFile.checkReplaceable(path)
            if keepingOld {
                // Another writer took the name after ours moved to .old: moving again would lose that .old.
                guard !movedToOld else { break }
                try OutputFile.checkReplaceable(path + ".old")
                replacedOld = lstat(path + ".old", &st) == 0
                guard rename(path, path + ".old") == 0 else {
                    throw OutputFileError.cannotRename(from: path, to: path + ".old", errno: Errno.current)
                }
                movedToOld = true
                continue  // the name is free now: take it without replacing
            }
            guard rename(temporary, path) == 0 else {
                throw OutputFileError.cannotRename(from: temporary, to: path, errno: Errno.current)
            }
            temporaryPath = nil
            return
        }
        if movedToOld, ember_rename_noreplace(path + ".old", path) == 0 { movedToOld = false }
        throw OutputFileError.cannotRename(from: temporary, to: path, errno: Errno(EEXIST))
    }

    /// Flushes to disk and closes; the file stays where it is (`publish` first to put it in place).
    public func close() throws {
        guard !closed else { return }
        closed = true
        let synced = fsync(fd) == 0 ? nil : Errno.current
        var st = stat()
        if fstat(fd, &st) == 0 { identity = FileIdentity(st) }
        let closedOK = Glibc.close(fd) == 0
        if let synced, synced.rawValue != EINVAL { throw OutputFileError.writeFailed(path: path, errno: synced) }
        if !closedOK { throw OutputFileError.writeFailed(path: path, errno: Errno.current) }
    }

    /// Removes what this object created — the temporary file, or the published file while `path` is still that
    /// same file — and moves `path.old` back. Never touches anything else.
    public func discard() {
        if !closed {
            closed = true
            Glibc.close(fd)
        }
        // Still being written (its change time moves on): the device and inode say it is ours.
        var ours = identity
        ours.changed = nil
        if let temporary = temporaryPath {
            OutputFile.remove(temporary, ifStill: ours)
            temporaryPath = nil
            return
        }
        OutputFile.remove(path, ifStill: ours)
        if movedToOld { _ = ember_rename_noreplace(path + ".old", path) }
        movedToOld = false
    }

    /// Removes `path` only while it is still the regular file `identity` names: the one way Ember removes a file it
    /// wrote earlier (an old snapshot, a rotated file), so that whatever was put in its place since stays.
    public static func remove(_ path: String, ifStill identity: FileIdentity) {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        let there = FileIdentity(st)
        guard there.device == identity.device, there.inode == identity.inode,
              identity.changed == nil || there.changed == identity.changed else { return }
        unlink(path)
    }

    /// Writes `bytes` as the whole new content of `path`: temporary file, fsync, rename. On failure nothing at
    /// `path` has changed.
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644) throws {
        let file = try OutputFile(path: path, mode: mode)
        do {
            try file.write(bytes)
            try file.close()
            try file.publish()
        } catch {
            file.discard()
            throw error
        }
    }
}

/// A file's device and inode numbers, and when it last changed (ns; nil while it is being written): inode numbers
/// are reused once a file is gone, its change time is not.
public struct FileIdentity: Equatable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    public var changed: UInt64?

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        changed = UInt64(st.st_ctim.tv_sec) &* 1_000_000_000 &+ UInt64(st.st_ctim.tv_nsec)
    }
}

/// Why an output file could not be written, with the path and what to do.
public enum OutputFileError: Error, CustomStringConvertible {
    case notAFile(path: String, kind: String)
    case noDirectory(path: String, directory: String)
    case cannotCreate(path: String, errno: Errno)
    case cannotRename(from: String, to: String, errno: Errno)
    case writeFailed(path: String, errno: Errno)
    case taken(path: String)
    case emptyPath

    public var description: String {
        switch self {
        case .notAFile(let path, let kind):
            return "\(path) is a \(kind), not a regular file; Ember only replaces regular files (choose another path)"
        case .noDirectory(let path, let directory):
            return "cannot create \(path): there is no directory \(directory) (create it, or choose another path)"
        case .cannotCreate(let path, let e):
            // procfs and sysfs answer ENOENT to a new name in a directory that exists.
            let why = e.rawValue == ENOENT ? "the file system does not allow new files there" : "\(e)"
            return "cannot create \(path): \(why) (choose a path in a writable directory such as /tmp)"
        case .cannotRename(let from, let to, let e):
            return "cannot rename \(from) to \(to): \(e)"
        case .writeFailed(let path, let e):
            return "writing \(path) failed: \(e)"
        case .emptyPath:
            return "the output name is empty; give a file name (or - for standard output)"
        case .taken(let path):
            return "\(path) appeared while Ember wrote it; Ember never replaces a file it did not name (remove it, or choose another output name)"
        }
    }
}
