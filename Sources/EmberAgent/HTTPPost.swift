import CHTTP
import Foundation

/// An HTTP POST through libcurl (`CHTTP`, which opens libcurl at the first one), on a thread of its own: libcurl
/// blocks, and the cooperative pool's few threads must not. Not cancellable: a POST under way ends within its
/// timeout.
enum HTTPPost {
    struct Failure: Error {
        let reason: String
    }

    /// The answer's status and the start of its body (at most 4 KiB).
    static func send(to url: URL, headers: [String], body: Data, timeoutSeconds: Int) async throws -> (status: Int, body: Data) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try post(url.absoluteString, headers, body, timeoutSeconds) })
            }
        }
    }

    private static func post(_ url: String, _ headers: [String], _ body: Data, _ timeoutSeconds: Int) throws -> (status: Int, body: Data) {
        var answer = [UInt8](repeating: 0, count: 4096)
        var error = [CChar](repeating: 0, count: 512)
        var answered = 0
        let cHeaders = headers.map { strdup($0) }
        defer { cHeaders.forEach { free($0) } }
        let status = cHeaders.map { UnsafePointer($0) }.withUnsafeBufferPointer { headerPointers in
            body.withUnsafeBytes { bytes in
                ember_http_post(url, headerPointers.baseAddress, Int32(headers.count), bytes.baseAddress, bytes.count, timeoutSeconds,
                                &answer, answer.count, &answered, &error, error.count)
            }
        }
        guard status >= 0 else { throw Failure(reason: String(cString: error)) }
        return (Int(status), Data(answer[0..<answered]))
    }
}
