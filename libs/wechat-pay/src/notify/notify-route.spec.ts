import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { hasNotifyStash, hideBodyHeaders, takeNotifyStash } from './notify-route';

function requestWith(headers: Record<string, string>): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = { ...headers };
  return req;
}

describe('hideBodyHeaders and takeNotifyStash', () => {
  it('hide the content type from body parsers and put every header back exactly', () => {
    const req = requestWith({
      'content-type': 'application/json',
      'content-length': '12',
      host: 'shop.example.com',
    });
    hideBodyHeaders(req, false);
    expect(req.headers).toEqual({ 'content-length': '12', host: 'shop.example.com' });
    expect(hasNotifyStash(req)).toBe(true);
    takeNotifyStash(req);
    expect(req.headers).toEqual({
      'content-type': 'application/json',
      'content-length': '12',
      host: 'shop.example.com',
    });
    expect(hasNotifyStash(req)).toBe(false);
  });

  it('make a chunked request look bodyless for Fastify, and restore it', () => {
    const req = requestWith({ 'content-type': 'text/xml', 'transfer-encoding': 'chunked' });
    hideBodyHeaders(req, true);
    expect(req.headers).toEqual({ 'content-length': '0' });
    takeNotifyStash(req);
    expect(req.headers).toEqual({ 'content-type': 'text/xml', 'transfer-encoding': 'chunked' });
  });

  it('leave a request the setup never touched as it is', () => {
    const req = requestWith({ 'content-type': 'text/xml' });
    expect(takeNotifyStash(req)).toBeUndefined();
    expect(req.headers).toEqual({ 'content-type': 'text/xml' });
  });
});
