/** Set in the environment of the dbtunnel processes that `up -d` starts: they have no terminal to ask on. */
export const BACKGROUND_ENV = 'DBTUNNEL_BACKGROUND';
