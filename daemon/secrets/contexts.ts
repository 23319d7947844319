// Additional authenticated data for each kind of sealed value: binds a ciphertext to its row.
export const bmcCredentialContext = (hostId: number): string => `bmc-password:${hostId}`;
export const bootstrapContext = (machineId: number): string => `bootstrap-data:${machineId}`;
