import { applyCommandLine, CommandLineError } from './command-line';

describe('the deployer flags kept from the platform ODC replaces', () => {
  it('map onto the deployer variables, win over the environment, and make the process a deployer', () => {
    const { env } = applyCommandLine(
      [
        '--mode=standalone',
        '--port',
        '9443',
        '--mtls',
        '--tls-cert=/tls/crt',
        '--tls-key=/tls/key',
        '--client-ca=/tls/ca',
      ],
      { ODC_DEPLOYER_PORT: '8443', OTHER: 'kept' },
    );
    expect(env).toEqual({
      ODC_DEPLOYER_PORT: '9443',
      ODC_DEPLOYER_TLS_CERT: '/tls/crt',
      ODC_DEPLOYER_TLS_KEY: '/tls/key',
      ODC_DEPLOYER_CLIENT_CA: '/tls/ca',
      ODC_ROLES: 'deployer',
      OTHER: 'kept',
    });
  });

  it('leave the environment alone without flags, and an explicit ODC_ROLES wins', () => {
    expect(applyCommandLine([], { ODC_ROLES: 'all' }).env).toEqual({ ODC_ROLES: 'all' });
    expect(applyCommandLine(['--port=1'], { ODC_ROLES: 'deployer,worker' }).env.ODC_ROLES).toBe(
      'deployer,worker',
    );
  });

  it('accept a client CA from the environment for --mtls', () => {
    expect(applyCommandLine(['--mtls'], { ODC_DEPLOYER_CLIENT_CA: '/ca' }).env.ODC_ROLES).toBe('deployer');
  });

  it.each([
    [['--mtls'], /--mtls needs a client CA/],
    [['--mode=lambda'], /dist\/src\/lambda\.handler/],
    [['--mode=daemon'], /standalone or lambda/],
    [['--verbose'], /Unknown option/],
    [['stray'], /positional/],
  ])('refuse %j with a message that says why', (args, message) => {
    expect(() => applyCommandLine(args, {})).toThrow(CommandLineError);
    expect(() => applyCommandLine(args, {})).toThrow(message);
  });

  it('answer --help', () => {
    expect(applyCommandLine(['--help'], {}).help).toBe(true);
  });
});
