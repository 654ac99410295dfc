#!/usr/bin/env node
import { App, Stack } from 'aws-cdk-lib';

const app = new App();
// The pipeline arrives in a later issue; an empty stack keeps `cdk synth` honest meanwhile.
new Stack(app, 'S3DirectTransfer', {
  description: 's3-direct-transfer: copy NASA Earthdata Cloud objects into your own buckets',
});
app.synth();
