/// What Swift async code's symbols say: async functions, their resume funclets, and the runtime functions that
/// root a task (swift's mangling: `Ya` an async function type, `TQ<n>_` await resume and `TY<n>_` suspend resume
/// partial functions).
public enum SwiftAsyncNames {
    /// A Swift async function, closure or one of their funclets: `Ya` (async) in its function type, followed by
    /// the type's end or another of its attributes (`...YaF`, `...YaKF` throws, `...YaYbcfU1_` a Sendable closure),
    /// or a funclet suffix.
    public static func isAsync(_ rawName: String) -> Bool {
        guard Demangler.isSwift(rawName) else { return false }
        if isResumeFunclet(rawName) { return true }
        let u = Array(rawName.utf8)
        for i in 0..<max(u.count - 2, 0) where u[i] == UInt8(ascii: "Y") && u[i + 1] == UInt8(ascii: "a") {
            switch u[i + 2] {
            case UInt8(ascii: "F"), UInt8(ascii: "K"), UInt8(ascii: "Y"), UInt8(ascii: "c"): return true
            default: continue
            }
        }
        return false
    }

    /// A resume partial function: `...TQ<n>_` or `...TY<n>_`.
    public static func isResumeFunclet(_ rawName: String) -> Bool {
        funcletSuffix(rawName) != nil
    }

    /// The runtime functions a task's outermost context resumes into (libswift_Concurrency's local C++ symbols
    /// `completeTask`, `completeTaskAndRelease`, `completeTaskWithClosure`, `completeInlineTask`), by their raw names.
    public static func isTaskCompletion(_ rawName: String) -> Bool {
        taskRoot(rawName) != nil
    }

    /// How a task's root shows at the end of its async stack, by the function its outermost context resumes into:
    /// the runtime gives `async let` child tasks `completeTask`, inline tasks `completeInlineTask`, and every other
    /// task (`Task {}`, detached, a task group's child, the main task) `completeTaskWithClosure` or
    /// `completeTaskAndRelease`, so that a group's child cannot be told from other tasks by its root.
    public static func taskRoot(_ rawName: String) -> String? {
        // A file-local C++ function: _ZL<length><name><parameters>.
        guard rawName.hasPrefix("_ZL") else { return nil }
        let digits = rawName.dropFirst(3).prefix { $0.isNumber }
        guard let length = Int(digits) else { return nil }
        switch rawName.dropFirst(3 + digits.count).prefix(length) {
        case "completeTask": return "[async let task]"
        case "completeTaskWithClosure", "completeTaskAndRelease": return "[task]"
        case "completeInlineTask": return "[inline task]"
        default: return nil
        }
    }

    /// The function a funclet belongs to: its name without the funclet suffix.
    public static func function(of rawName: String) -> Substring {
        funcletSuffix(rawName).map { rawName[..<$0] } ?? rawName[...]
    }

    /// Where `TQ<n>_` or `TY<n>_` begins at the end of the name.
    static func funcletSuffix(_ rawName: String) -> String.Index? {
        let u = Array(rawName.utf8)
        guard u.count > 4, u.last == UInt8(ascii: "_") else { return nil }
        var i = u.count - 2
        while i > 0, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(u[i]) { i -= 1 }
        guard i > 0, u[i] == UInt8(ascii: "Q") || u[i] == UInt8(ascii: "Y"), u[i - 1] == UInt8(ascii: "T") else { return nil }
        return rawName.utf8.index(rawName.utf8.startIndex, offsetBy: i - 1)
    }
}
