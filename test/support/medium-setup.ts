import { startTestDatabase } from './global-setup';

/** The medium tier needs the database only: no compiled app, no simulator. */
export default startTestDatabase;
