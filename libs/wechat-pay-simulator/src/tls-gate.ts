import type { TLSSocket } from 'node:tls';

/** What the TLS listener saw of the client's certificate on this connection. */
export type PeerCertificate =
  { kind: 'none' } | { kind: 'invalid'; reason: string } | { kind: 'merchant'; mchId: string };

/**
 * Reads the client certificate of a TLS connection. The listener requests one but accepts the
 * handshake without (rejectUnauthorized: false), as the nginx in front of the real API does, so
 * the answer can be the HTTP page a client really gets rather than a failed handshake.
 */
export function peerCertificate(socket: TLSSocket): PeerCertificate {
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return { kind: 'none' };
  if (!socket.authorized) {
    const reason = socket.authorizationError;
    return { kind: 'invalid', reason: reason instanceof Error ? reason.message : String(reason) };
  }
  const cn = peer.subject?.CN;
  const mchId = Array.isArray(cn) ? cn[0] : cn;
  return mchId ? { kind: 'merchant', mchId } : { kind: 'invalid', reason: 'no common name' };
}

/** nginx's own 400 pages (CRLF line ends, as it writes them). */
function nginxPage(reason: string): string {
  return [
    '<html>',
    `<head><title>400 ${reason}</title></head>`,
    '<body bgcolor="white">',
    '<center><h1>400 Bad Request</h1></center>',
    `<center>${reason}</center>`,
    '<hr><center>nginx</center>',
    '</body>',
    '</html>',
    '',
  ].join('\r\n');
}

/** The answer to a /secapi call without a client certificate (binarywang/WxJava#3740). */
export const NO_CERTIFICATE_PAGE = nginxPage('No required SSL certificate was sent');

/** The answer to a /secapi call with a certificate the CA did not issue or that has expired. */
export const CERTIFICATE_ERROR_PAGE = nginxPage('The SSL certificate error');
