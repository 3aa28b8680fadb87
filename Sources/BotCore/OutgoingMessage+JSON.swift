import Foundation
import FabriqueJSON

/// How a reply is stored (the outbox `payload` column): one object, compact, members in sorted key
/// order; the plain text is left out when it is the Markdown's own, and so are empty `choices` and
/// `mentions`, a nil `anchor`, `replyToEventID` or `threadID`, and `reactions` when false. An
/// `attachment` keeps its bytes in Base64 (`data`), with `name`, `mime`, and `w`/`h` for an image.
extension OutgoingMessage {
    /// The stored text.
    var storedText: String {
        var w = JSONWriter()
        w.beginObject()
        if let anchor { w.field("anchor"); w.string(anchor) }
        if let attachment {
            w.field("attachment")
            w.beginObject()
            w.field("data"); w.string(attachment.data.base64EncodedString())
            if let height = attachment.height { w.field("h"); w.number(Double(height)) }
            w.field("mime"); w.string(attachment.mimeType)
            w.field("name"); w.string(attachment.fileName)
            if let width = attachment.width { w.field("w"); w.number(Double(width)) }
            w.endObject()
        }
        if !choices.isEmpty { w.field("choices"); w.strings(choices) }
        w.field("id"); w.string(id)
        w.field("markdown"); w.string(markdown)
        if !mentions.isEmpty { w.field("mentions"); w.strings(mentions) }
        if plain != Markdown.plainText(markdown) { w.field("plain"); w.string(plain) }
        if offersReactions { w.field("reactions"); w.bool(true) }
        if let replyToEventID { w.field("replyToEventID"); w.string(replyToEventID) }
        w.field("roomID"); w.string(roomID)
        w.field("style"); w.string(style.rawValue)
        if let threadID { w.field("threadID"); w.string(threadID) }
        w.endObject()
        return w.text
    }

    /// Reads a stored reply: `id`, `roomID` and `markdown` are required, the rest take their default
    /// (`style` is `notice`), and `null` reads as absent where a member is optional.
    /// - Throws: ``JSON/Malformed`` when a member is missing or of the wrong type, or names an unknown style.
    init(stored json: JSON) throws {
        guard let id = json["id"]?.string, let roomID = json["roomID"]?.string, let markdown = json["markdown"]?.string else {
            throw JSON.Malformed()
        }
        var style = OutgoingStyle.notice
        if let raw = try json["style"]?.decodeStringOrNull() { style = try OutgoingStyle(rawValue: raw) ?? { throw JSON.Malformed() }() }
        var attachment: Attachment?
        if let file = json["attachment"], file != .null {
            guard let name = file["name"]?.string, let mime = file["mime"]?.string, let base64 = file["data"]?.string,
                let data = Data(base64Encoded: base64)
            else { throw JSON.Malformed() }
            attachment = Attachment(
                fileName: name, mimeType: mime, data: data, width: file["w"]?.number.map { Int($0) },
                height: file["h"]?.number.map { Int($0) })
        }
        self.init(
            id: id, roomID: roomID, markdown: markdown, plain: try json["plain"]?.decodeStringOrNull(),
            replyToEventID: try json["replyToEventID"]?.decodeStringOrNull(), threadID: try json["threadID"]?.decodeStringOrNull(),
            choices: try json["choices"]?.decodeStrings() ?? [], style: style, mentions: try json["mentions"]?.decodeStrings() ?? [],
            anchor: try json["anchor"]?.decodeStringOrNull(), offersReactions: try json["reactions"]?.decodeBool() ?? false,
            attachment: attachment)
    }
}
