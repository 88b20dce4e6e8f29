/**
 * Requests Node's HTTP parser refuses before any handler runs (malformed request line or
 * chunked body, headers over the size limit, …) get the same JSON error body as every other
 * refusal, instead of Node's bare `400 Bad Request`. Never a stack trace, never a reflection
 * of the request.
 */
import { STATUS_CODES, type Server } from "node:http";
import type { Duplex } from "node:stream";

/** Parser error codes with their answer: status, stable code, message. */
function answerFor(code: string | undefined): { status: number; code: string; message: string } {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, code: "headers-too-large", message: "request line and headers are too large" };
    case "HPE_URI_TOO_LONG":
      return { status: 414, code: "uri-too-long", message: "request URL is too long" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, code: "request-timeout", message: "the request took too long to arrive" };
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
    case "HPE_INVALID_CONTENT_LENGTH":
      return { status: 400, code: "bad-request", message: "malformed request body framing (chunked encoding or content length)" };
    default:
      return { status: 400, code: "bad-request", message: "malformed HTTP request" };
  }
}

/** Installs the `clientError` handler on a server (http, https, or the one the ssh endpoint feeds). */
export function answerMalformedRequests(server: Server): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node's own handler: answer only when no response has started on this connection.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = answerFor(error.code);
    const body = JSON.stringify({ error: { code: answer.code, message: answer.message } });
    socket.end(
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
        `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
