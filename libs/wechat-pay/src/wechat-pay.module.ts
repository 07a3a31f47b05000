import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { WechatPayConfig } from './config/wechat-pay.options';
import { WechatPayGateway } from './gateway/gateway.service';
import { WechatPayTransport } from './gateway/transport';
import { WechatPayHookRunner } from './hooks/hooks';
import { WechatLoginService } from './login/login.service';
import { NotifyHandlerRegistry } from './notify/notify-handler.registry';
import { WechatPayNotifyService } from './notify/notify.service';
import { WechatPaySigner } from './signer/signer.service';
import {
  WechatPayConfigurableModule,
  wechatPayConfigProvider,
} from './wechat-pay.module-definition';

@Module({
  imports: [DiscoveryModule],
  providers: [
    wechatPayConfigProvider,
    WechatPayHookRunner,
    WechatPaySigner,
    WechatPayTransport,
    WechatPayGateway,
    WechatLoginService,
    NotifyHandlerRegistry,
    WechatPayNotifyService,
  ],
  exports: [
    WechatPayConfig,
    WechatPaySigner,
    WechatPayTransport,
    WechatPayGateway,
    WechatLoginService,
    WechatPayNotifyService,
  ],
})
export class WechatPayModule extends WechatPayConfigurableModule {}
