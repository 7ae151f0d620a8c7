/**
 * The `context` of a validation rule that is about a field's absence, such as "exactly one of
 * volume and source": when the field is missing, its message is what to fix, and the validation
 * pipe keeps it (it answers a missing field with "… is required" otherwise).
 */
export const ABOUT_ABSENCE = { aboutAbsence: true } as const;
