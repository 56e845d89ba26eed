import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A rendered flame graph read back with a real XML parser: proves the output is well-formed and exposes the
/// frames (`<g data-x data-w><title/><rect/><text/></g>`) and the id'd text lines for assertions.
final class SVGDocument: NSObject, XMLParserDelegate {
    struct Frame {
        var dataX: UInt64 = 0
        var dataW: UInt64 = 0
        /// A flame chart's lane (`data-l`).
        var lane = 0
        var title = ""
        var x = 0.0
        var y = 0.0
        var width = 0.0
        var height = 0.0
        var fill = ""
        var label = ""

        /// The title without its " (N samples, P%)" suffix.
        var name: String {
            guard let cut = title.range(of: " (", options: .backwards) else { return title }
            return String(title[..<cut.lowerBound])
        }
    }

    private(set) var frames: [Frame] = []
    /// Text of the `<text id=...>` elements outside frames (title, details, search, ...), entities decoded.
    private(set) var texts: [String: String] = [:]
    private(set) var width = 0.0
    private(set) var height = 0.0
    /// Parse errors; empty for a well-formed document. (On Linux `parse()` may return true despite errors.)
    private(set) var errors: [String] = []
    private(set) var parsed = false

    private var frame: Frame?
    private var textID: String?
    private var buffer = ""

    init(_ svg: String) {
        super.init()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = self
        parsed = parser.parse()
        if let error = parser.parserError, errors.isEmpty { errors.append(String(describing: error)) }
    }

    var isWellFormed: Bool { parsed && errors.isEmpty }

    func frames(named name: String) -> [Frame] { frames.filter { $0.name == name } }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        buffer = ""
        switch elementName {
        case "svg":
            width = Double(attributeDict["width"] ?? "") ?? -1
            height = Double(attributeDict["height"] ?? "") ?? -1
        case "g":
            if let w = attributeDict["data-w"] {
                frame = Frame(dataX: UInt64(attributeDict["data-x"] ?? "") ?? .max, dataW: UInt64(w) ?? .max,
                              lane: Int(attributeDict["data-l"] ?? "0") ?? -1)
            }
        case "rect":
            if frame != nil {
                frame!.x = Double(attributeDict["x"] ?? "") ?? -1
                frame!.y = Double(attributeDict["y"] ?? "") ?? -1
                frame!.width = Double(attributeDict["width"] ?? "") ?? -1
                frame!.height = Double(attributeDict["height"] ?? "") ?? -1
                frame!.fill = attributeDict["fill"] ?? ""
            }
        case "text":
            textID = attributeDict["id"]
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        buffer += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        switch elementName {
        case "title":
            frame?.title = buffer
        case "text":
            if frame != nil {
                frame!.label = buffer
            } else if let id = textID {
                texts[id] = buffer
            }
            textID = nil
        case "g":
            if let done = frame {
                frames.append(done)
                frame = nil
            }
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
        errors.append(String(describing: parseError))
    }
}
