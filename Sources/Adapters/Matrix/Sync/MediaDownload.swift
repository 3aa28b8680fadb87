import BotCore
import FabriqueJSON
import Foundation

extension MatrixClient {
    /// The bytes of the media at `mxc` (`mxc://server/mediaId`), at most `limit` of them: through the
    /// authenticated media API (`GET /_matrix/client/v1/media/download/…`), or the older unauthenticated one
    /// (`/_matrix/media/v3/download/…`) on a homeserver that does not know it. Tried once: the person who
    /// asked can ask again.
    func download(mxc: String, limit: Int, timeout: TimeInterval = 120) async throws(FileFetchError) -> Data {
        let parts = mxc.dropFirst("mxc://".count).split(separator: "/", maxSplits: 1).map(String.init)
        guard mxc.hasPrefix("mxc://"), parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains("/") else {
            throw .notFound
        }
        var headers: [String: String] = [:]
        if let token { headers["Authorization"] = "Bearer \(token.value)" }
        let attempts = [
            url([parts[0], parts[1]], prefix: "/_matrix/client/v1/media/download"),
            url(["download", parts[0], parts[1]], prefix: "/_matrix/media/v3"),
        ]
        for (index, address) in attempts.enumerated() {
            let response: HTTPResponse
            do {
                response = try await http.send(
                    HTTPRequest(method: "GET", url: address, headers: headers, timeout: timeout, maximumBodySize: limit))
            } catch let error as CurlTransportError {
                // 63: the Content-Length says too large; 23: the body grew past the limit (see CurlTransfer).
                if error.code == 63 || error.code == 23 { throw .tooLarge(size: nil, limit: limit) }
                throw .unavailable(error.description)
            } catch {
                throw .unavailable(Self.describe(error))
            }
            if (200..<300).contains(response.status) {
                guard response.body.count <= limit else { throw .tooLarge(size: response.body.count, limit: limit) }
                return response.body
            }
            let failure = MatrixError.from(response)
            // A homeserver without authenticated media says so with M_UNRECOGNIZED (or a bare 404/405).
            let unknownEndpoint =
                failure.errcode == "M_UNRECOGNIZED" || (failure.errcode == nil && (response.status == 404 || response.status == 405))
            if index == 0, unknownEndpoint { continue }
            if response.status == 404 || failure.errcode == "M_NOT_FOUND" { throw .notFound }
            if response.status == 413 || failure.errcode == "M_TOO_LARGE" { throw .tooLarge(size: nil, limit: limit) }
            throw .unavailable(failure.description)
        }
        throw .notFound
    }
}

extension MatrixAdapter {
    /// Downloads a file shared in a room, and decrypts it when it came in an encrypted room (its
    /// `EncryptedFile` object in ``SharedFile/sealed``), after checking the ciphertext's SHA-256.
    public func fetch(_ file: SharedFile, limit: Int) async throws(FileFetchError) -> Data {
        var sealed: JSON?
        if let text = file.sealed {
            guard let json = JSON.parse(Data(text.utf8)) else { throw .undecryptable("the file's key cannot be read") }
            sealed = json
        }
        let data = try await client.download(mxc: file.location, limit: limit)
        guard let sealed else { return data }
        guard let plain = EncryptedAttachment.decrypt(data, file: sealed) else {
            throw .undecryptable("its hash or its key does not match")
        }
        return plain
    }
}
