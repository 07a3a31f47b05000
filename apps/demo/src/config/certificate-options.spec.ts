import { certificateOptions } from './certificate-options';
import { loadDemoConfig } from './demo.config';

const SIM = {
  appId: 'wxsimulator000001',
  appSecret: 'sim-secret',
  mchId: '1900000109',
  apiKey: 'S'.repeat(32),
};
const secret = () => 'generated-session-secret';
const options = (env: NodeJS.ProcessEnv) => certificateOptions(loadDemoConfig(env, SIM, secret));

describe('certificateOptions', () => {
  it('gives no certificate when none is configured', () => {
    expect(options({})).toEqual({});
  });

  it('passes a p12 path with the mch_id as its default passphrase', () => {
    expect(options({ WECHAT_CERT_P12: '/run/secrets/apiclient_cert.p12' })).toEqual({
      certP12: '/run/secrets/apiclient_cert.p12',
      certPassphrase: SIM.mchId,
    });
    expect(
      options({ WECHAT_CERT_P12: '/certs/a.p12', WECHAT_CERT_PASSPHRASE: 'changed-it' }),
    ).toMatchObject({ certPassphrase: 'changed-it' });
  });

  it('passes the PEM pair, a CA and the certificate host', () => {
    expect(
      options({
        WECHAT_CERT_PEM: '/certs/apiclient_cert.pem',
        WECHAT_KEY_PEM: '/certs/apiclient_key.pem',
        WECHAT_CA_PEM: '/certs/ca.pem',
        WECHAT_SECAPI_BASE_URL: 'https://127.0.0.1:3101',
      }),
    ).toEqual({
      certPem: '/certs/apiclient_cert.pem',
      keyPem: '/certs/apiclient_key.pem',
      caCert: '/certs/ca.pem',
      secapiBaseUrl: 'https://127.0.0.1:3101',
    });
  });

  it('refuses a certificate host that is not https', () => {
    expect(() => options({ WECHAT_SECAPI_BASE_URL: 'http://127.0.0.1:3101' })).toThrow(
      /WECHAT_SECAPI_BASE_URL must be an absolute https URL/,
    );
  });
});
