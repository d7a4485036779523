// Moved to htdocs/dialog.js (one dialog module for every tab); kept for imports of the old path.
export * from '../../dialog.js';
