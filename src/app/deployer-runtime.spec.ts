import { DeployerSettings } from '../deployer/deployer-settings';
import { loadAppConfig } from './config';
import { allowingCsiDriver } from './deployer-runtime';

describe('a deployer on its own simulated cluster', () => {
  it("allows that cluster's CSI driver besides the configured ones, leaving the config it was given alone", () => {
    const config = loadAppConfig({ NODE_ENV: 'test', ODC_DEPLOYER_ALLOWED_CSI_DRIVERS: 'ebs.csi.aws.com' });
    const settings = new DeployerSettings(allowingCsiDriver(config, 'sim.csi.odc.dev'));
    expect(settings.policy.allowedCsiDrivers).toEqual(['ebs.csi.aws.com', 'sim.csi.odc.dev']);
    expect(new DeployerSettings(config).policy.allowedCsiDrivers).toEqual(['ebs.csi.aws.com']);
  });
});
