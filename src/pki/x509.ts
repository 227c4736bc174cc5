// The single entry to @peculiar/x509. It registers its algorithms through tsyringe, which needs a
// Reflect metadata API loaded first; ES modules evaluate imports in order, so every use of the
// library goes through this module.
import 'reflect-metadata';

export * from '@peculiar/x509';
