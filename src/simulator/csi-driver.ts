/** The CSI driver of the simulated cluster's storage and snapshot classes (unless they name another). */
export const SIMULATED_CSI_DRIVER = 'sim.csi.odc.dev';
