import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { RateLimited } from '../rate-limit/rate-limit.decorator';
import { AuthService } from './auth.service';

export class LoginDto {
  @ApiProperty({ description: 'The code from wx.login(): valid 5 minutes, single use' })
  @IsString()
  @Length(1, 128)
  code!: string;
}

export class LoginResponseDto {
  @ApiProperty({ description: 'Send as Authorization: Bearer <token>' })
  token!: string;

  @ApiProperty({ description: 'Seconds until the token expires' })
  expiresIn!: number;
}

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @RateLimited('login')
  @ApiOkResponse({ type: LoginResponseDto })
  login(@Body() body: LoginDto): Promise<LoginResponseDto> {
    return this.auth.login(body.code);
  }
}
