import Foundation
import HTTPTypes
import Hummingbird

/// A refusal the API explains: a fixed code and text, never a value from the request.
struct OperatorProblem: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        OperatorResponse.problem(status, code: code, message)
    }
}

/// JSON responses of the operator service.
enum OperatorResponse {
    /// `value` (dictionaries, arrays, strings, numbers, booleans, NSNull) as JSON.
    static func json(_ value: Any, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = "no-store"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: encode(value))))
    }

    static func problem(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:])
        -> Response
    {
        json(["error": ["code": code, "message": message]], status: status, headers: headers)
    }

    static func encode(_ value: Any) -> Data {
        var data =
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
